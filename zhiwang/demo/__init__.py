"""The demo city: a Shenzhen of N residents, their companies and buildings, delivered by nine departments
with the mistakes real extracts carry, plus the ground truth to score the pipeline against."""

from zhiwang.demo.city import generate_city

__all__ = ["generate_city"]
