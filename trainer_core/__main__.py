import sys

from trainer_core.cli import main

sys.exit(main())
