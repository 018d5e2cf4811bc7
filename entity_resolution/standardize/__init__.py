"""Standardization for matching: pure functions per value, and column forms (``*s``) that run each rule
once per distinct value of a pyarrow array, pandas Series or list."""

from entity_resolution.standardize.addresses import Address, building_key, parse_address, parse_addresses, unit_key
from entity_resolution.standardize.companies import (
    company_core,
    company_cores,
    company_key,
    company_keys,
    normalize_company_name,
)
from entity_resolution.standardize.dates import parse_date, parse_dates
from entity_resolution.standardize.identifiers import (
    id_number_as_delivered,
    id_number_birth_date,
    id_number_birth_dates,
    id_number_for_matching,
    id_number_gender,
    id_numbers_and_birth_dates,
    id_numbers_for_matching,
    uscc_for_matching,
    usccs_for_matching,
)
from entity_resolution.standardize.names import (
    name_pinyin,
    name_pinyins,
    names_and_pinyin_keys,
    normalize_name,
    normalize_names,
    pinyin_key,
    pinyin_keys,
)
from entity_resolution.standardize.phones import (
    landline_for_matching,
    landlines_for_matching,
    mobile_for_matching,
    mobiles_for_matching,
    phone_for_matching,
    phones_for_matching,
    phones_in,
)

__all__ = [
    "Address", "building_key", "company_core", "company_cores", "company_key", "company_keys",
    "id_number_as_delivered", "id_number_birth_date", "id_number_birth_dates", "id_number_for_matching",
    "id_number_gender", "id_numbers_and_birth_dates", "id_numbers_for_matching", "landline_for_matching", "landlines_for_matching",
    "mobile_for_matching", "mobiles_for_matching", "name_pinyin", "name_pinyins", "names_and_pinyin_keys", "normalize_company_name",
    "normalize_name", "normalize_names", "parse_address", "parse_addresses", "parse_date", "parse_dates",
    "phone_for_matching", "phones_for_matching", "phones_in", "pinyin_key", "pinyin_keys", "unit_key", "uscc_for_matching",
    "usccs_for_matching",
]
