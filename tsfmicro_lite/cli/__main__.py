"""``python -m tsfmicro_lite.cli``: the ``tsfmicro`` command without the console script."""
import sys

from . import main

sys.exit(main())
