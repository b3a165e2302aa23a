"""truenas-mcp runtime: the hand-written half of the project.

Everything under this package is written by hand and never generated. Generated tool packages import
from it (base model class, tool specification types); it never imports a generated module by name.
"""

__version__ = "0.1.0"
