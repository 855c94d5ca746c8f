"""Medicare Physician Fee Schedule pricing from the real CMS files.

CONTRACT (implementation pending; other modules rely on these names and signatures):

- ``load_rvu(path=None) -> DataFrame``: any year's PPRRVU CSV in its real layout;
  default is the bundled extract ``data/reference/pprrvu2025_oct_imaging.csv``.
  Columns at least: ``cpt_code, modifier ("" | "26" | "TC" | other), description,
  status_code, work_rvu, pe_rvu_non_facility, pe_rvu_facility, mp_rvu,
  non_facility_na (bool), facility_na (bool), pctc_indicator, supervision,
  imaging_family, conversion_factor``.
- ``load_gpci(path=None) -> DataFrame``: columns ``mac, state, locality,
  locality_name, gpci_work, gpci_pe, gpci_mp`` (mac 5 chars, locality 2 chars).
- ``conversion_factor(dates) -> Series`` / scalar for one date (2022-2026, the 2024
  change on March 9).
- ``component_from_modifiers(modifiers: Series) -> Series`` of "global" | "26" | "TC".
- ``setting_from_pos(place_of_service: Series) -> Series`` of "facility" | "non_facility".
- ``mac_jurisdiction(mac) -> str`` (JH, JL, JN, JM, ...); ``state_locality(state)``.
- ``price(lines, *, rvu=None, gpci=None) -> DataFrame`` with the same index as
  ``lines``; ``lines`` has ``cpt_code``, ``component``, ``setting``, ``state`` (or
  ``mac`` + ``locality``; ``state="US"`` means national, all GPCIs 1.0) and
  ``service_date`` (or ``year``). Returns ``medicare_usd`` (NaN where not payable),
  ``payable`` (bool) and ``note`` (e.g. facility global/TC not paid under the PFS).
"""
