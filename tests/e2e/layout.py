"""What the page looks like, measured in the DOM: frames drawn, text cut, words split, tabs out of sight.

Each function runs one script in the page and returns what is wrong (an empty list when nothing is), so a
test's assertion message names the element and the numbers. Shared by tests/e2e/test_layout.py.
"""

from __future__ import annotations

from typing import Any

NARROW = {"width": 390, "height": 844}  # a phone
WIDE = {"width": 1400, "height": 900}

# The elements of a callout (its block and everything inside) that draw a border: a callout drawn once has one.
_FRAMES = """(root) => [root, ...root.querySelectorAll('*')].filter(e => {
  const s = getComputedStyle(e), r = e.getBoundingClientRect();
  return r.width > 0 && r.height > 0 && ['Top', 'Right', 'Bottom', 'Left'].some(
    side => s[`border${side}Style`] !== 'none' && parseFloat(s[`border${side}Width`]) > 0);
}).map(e => `${e.tagName.toLowerCase()}.${[...e.classList].join('.')}`)"""

# A chart's legend, axes, title and caption: each must lie inside every box around it that clips (the SVG
# itself, the chart's block), or part of it is not drawn.
_CUT_CHART_PARTS = """(root) => {
  const cut = [];
  const parts = root.querySelectorAll(
    'svg.marks g.role-legend, svg.marks g.role-axis, svg.marks g.role-title, .caption');
  for (const part of parts) {
    const r = part.getBoundingClientRect();
    if (!r.width || !r.height) continue;
    for (let box = part.parentElement; box && box !== root.parentElement; box = box.parentElement) {
      const s = getComputedStyle(box);
      if (s.overflowX === 'visible' && s.overflowY === 'visible') continue;
      const b = box.getBoundingClientRect();
      const out = {left: b.left - r.left, right: r.right - b.right, top: b.top - r.top, bottom: r.bottom - b.bottom};
      const over = Object.entries(out).filter(([, px]) => px > 1).map(([side, px]) => `${Math.round(px)} px ${side}`);
      if (over.length) {
        const name = part.getAttribute('class') || part.tagName;
        cut.push(`${name} (${(part.textContent || '').slice(0, 60)}) sticks out of ${box.tagName.toLowerCase()}`
          + `.${[...box.classList].join('.')} by ${over.join(', ')}`);
        break;
      }
    }
  }
  return cut;
}"""

# The text of every visible dropdown: it must fit between the box's left padding and the arrow (or the box's
# right padding). A text that cannot fit may end in an ellipsis instead, if ``ellipsis_ok``: then the box's
# text area must end before the arrow, so the ellipsis is seen.
_CUT_DROPDOWNS = """([root, ellipsisOk]) => {
  const canvas = document.createElement('canvas').getContext('2d');
  const cut = [];
  for (const input of root.querySelectorAll('.secondary-wrap input')) {
    const r = input.getBoundingClientRect();
    if (!r.width || !input.offsetParent || !input.value) continue;
    const s = getComputedStyle(input);
    canvas.font = s.font;
    const text = canvas.measureText(input.value).width;
    const icon = input.closest('.wrap-inner')?.querySelector('.icon-wrap');
    const start = r.left + parseFloat(s.borderLeftWidth) + parseFloat(s.paddingLeft);
    const boxEnd = r.right - parseFloat(s.borderRightWidth) - parseFloat(s.paddingRight);
    const arrow = icon ? icon.getBoundingClientRect().left : Infinity;
    const room = Math.min(boxEnd, arrow) - start;
    if (text <= room + 0.5) continue;
    if (ellipsisOk && s.textOverflow === 'ellipsis' && boxEnd <= arrow + 0.5) continue;
    const id = input.closest('[id]')?.id;
    cut.push(`#${id}: "${input.value}" is ${Math.round(text)} px wide, ${Math.round(room)} px shown`
      + (boxEnd > arrow ? ` (the box runs ${Math.round(boxEnd - arrow)} px under the arrow)` : ''));
  }
  return cut;
}"""

# Words of a table's header and cells that the browser split over two lines ("lab" / "el"); a line may
# end after a hyphen ("top-" / "notch"), as in print.
_SPLIT_WORDS = """(root) => {
  const split = [];
  for (const cell of root.querySelectorAll('th, .body-cell')) {  // the rows are divs, beside a sizing table
    if (!cell.getBoundingClientRect().width || !cell.offsetParent) continue;
    const walker = document.createTreeWalker(cell, NodeFilter.SHOW_TEXT);
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
      if (node.parentElement.closest('button')) continue;  // the column menu's "⋮"
      for (const m of node.data.matchAll(/[^\\s\\-\u2010-\u2014]+/g)) {  // a line may end after a hyphen
        const range = document.createRange();
        range.setStart(node, m.index);
        range.setEnd(node, m.index + m[0].length);
        const lines = new Set([...range.getClientRects()].filter(q => q.width > 0).map(q => Math.round(q.top)));
        if (lines.size > 1) split.push(`"${m[0]}" in ${cell.tagName.toLowerCase()} (${Math.round(cell.getBoundingClientRect().width)} px) over ${lines.size} lines`);
      }
    }
  }
  return split;
}"""

# The tab buttons a person can see and click: shown in the tab bar and inside the window.
_TABS = """() => {
  const width = document.documentElement.clientWidth;
  return [...document.querySelectorAll('[role=tablist] button[role=tab]')].map(tab => {
    const r = tab.getBoundingClientRect(), s = getComputedStyle(tab);
    const shown = r.width > 0 && r.height > 0 && s.visibility !== 'hidden' && !tab.closest('[aria-hidden=true]');
    return {name: tab.textContent.trim(), shown, inside: r.left >= 0 && r.right <= width + 0.5};
  });
}"""


def frames(locator: Any) -> list[str]:
    """The elements of ``locator`` (itself included) that draw a border."""
    return locator.evaluate(_FRAMES)


def cut_chart_parts(locator: Any) -> list[str]:
    return locator.evaluate(_CUT_CHART_PARTS)


def cut_dropdowns(locator: Any, *, ellipsis_ok: bool = False) -> list[str]:
    return locator.evaluate(f"(root) => ({_CUT_DROPDOWNS})([root, {str(ellipsis_ok).lower()}])")


def split_words(locator: Any) -> list[str]:
    return locator.evaluate(_SPLIT_WORDS)


def tab_buttons(page: Any) -> list[dict[str, Any]]:
    return page.evaluate(_TABS)


def more_tabs_shown(page: Any) -> bool:
    """Whether gradio's "..." menu of tabs that did not fit is on the page."""
    return page.locator("button[aria-label='More tabs']").filter(visible=True).count() > 0


def resize(page: Any, viewport: dict[str, int]) -> None:
    """A new window size, and time for the page (and its charts, which redraw on resize) to follow it."""
    page.set_viewport_size(viewport)
    page.wait_for_timeout(800)
