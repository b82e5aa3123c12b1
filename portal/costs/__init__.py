"""Cost centres of in-warranty work (成本中心): fault causes, quality appraisals (鉴定), repeats."""
