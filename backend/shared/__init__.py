"""What every area uses and no area owns: problems, languages, pages, forms, the principal and the access decision, the
audit log, abuse limits. Nothing here imports an area (import-linter holds it to that in make lint)."""
