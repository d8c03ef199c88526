//! `make openapi`: writes the merged OpenAPI document that `meta` serves
//! (`functions/meta/openapi.json`), from every function crate's routes.

fn main() -> std::io::Result<()> {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let path = root.join(wati_infra::openapi::DOCUMENT_PATH);
    std::fs::write(&path, wati_infra::openapi::document_json())?;
    println!("wrote {}", wati_infra::openapi::DOCUMENT_PATH);
    Ok(())
}
