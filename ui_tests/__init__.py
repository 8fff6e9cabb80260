"""The browser tier: Prefect's two UIs (v1 and v2) for this project's deployments, driven through chromium by
Playwright.

Run it with `python3 dev.py test-ui`. It is a script, not a pytest package: it records every check,
keeps going after a failed one, and exits non-zero at the end if any failed. Modules: `environment`
(isolated homes), `stack` (hub, Prefect stack, UI server), `ui_server`, `browser` (chromium, screenshots,
and the broken-image and token scans of every page), `deployment` (ids and the block), `expected` (what a
person should read, as literals), `form_reader` (a rendered form, per UI), `form_checks`, `run_form`,
`run_pages`, `block_pages`, `report`, and `tier` (the scenario).
"""
