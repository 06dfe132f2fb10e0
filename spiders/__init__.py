"""The Scrapy project: the homepage spider, its settings, DNS resolver and store pipeline."""
