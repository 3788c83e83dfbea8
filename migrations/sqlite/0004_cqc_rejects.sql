-- Rows an upload skipped (--skip-invalid), kept so the page can offer them as a download.
CREATE TABLE cqc_import_rejects (
    import_id INTEGER PRIMARY KEY REFERENCES cqc_imports(id),
    csv TEXT NOT NULL
);
