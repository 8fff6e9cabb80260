"""The browser tier: Prefect's UI for this project's deployments, driven through chromium by Playwright.

Run it with `python3 dev.py test-ui`. It is a script, not a pytest package: it records every check,
keeps going after a failed one, and exits non-zero at the end if any failed. Modules: `environment`
(isolated homes), `stack` (hub, Prefect stack, UI server), `ui_server`, `browser`, `deployment` (the
facts the pages are held to), `run_form`, `run_pages`, `block_pages`, `report`, and `tier` (the scenario).
"""
