"""City-management categories (GB/T 30428.2 部件 and 事件) as data, with a small typed loader.

>>> taxonomy = Taxonomy.load()
>>> taxonomy.get("C0101").name
'上水井盖'
"""

from shared.taxonomy.model import (
    DeadlineProfile,
    Kind,
    MajorClass,
    MinorClass,
    Taxonomy,
    TaxonomyError,
)

__all__ = ["DeadlineProfile", "Kind", "MajorClass", "MinorClass", "Taxonomy", "TaxonomyError"]
