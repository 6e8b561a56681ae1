"""Browser tests: real headless Chromium (Playwright) against the app served over real HTTP."""
