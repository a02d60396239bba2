//! The bundled model catalog (`src/fireworks/catalog/fireworks-ai.json`) is generated from
//! models.dev's Fireworks files, never written by hand. This test is the generator: it reads
//! the TOML files, merges each model over its `base_model` (deep merge, the provider's file
//! wins), keeps the facts the crate reads (drops `benchmarks`, `weights`, `links`, `license` and
//! everything else) and writes them in the shape of models.dev's `api.json` `fireworks-ai`
//! entry.
//!
//! - `cargo test --test it catalog_refresh` checks that the committed file is exactly what the
//!   files give, and fails on any difference;
//! - `REFRESH_CATALOG=1 cargo test --test it catalog_refresh` rewrites the file, for review as
//!   a diff.
//!
//! The files are read from `MODELS_DEV_DIR` when set, else from `../shared/models.dev` beside
//! the crate. Where neither exists the check cannot run and says so (unless `REFRESH_CATALOG`
//! is set, which makes a missing folder an error).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

/// The committed catalog, relative to the crate root.
const CATALOG: &str = "src/fireworks/catalog/fireworks-ai.json";

/// The fields of a model that the catalog keeps: facts a provider needs (limits, prices,
/// modalities, what it accepts, how it takes reasoning back, whether it is going away).
const MODEL_FACTS: [&str; 11] = [
    "name",
    "family",
    "status",
    "limit",
    "cost",
    "modalities",
    "tool_call",
    "temperature",
    "reasoning",
    "reasoning_options",
    "interleaved",
];

/// The provider's fields kept beside the models.
const PROVIDER_FACTS: [&str; 4] = ["name", "env", "api", "doc"];

/// Fields a base model carries that are not the provider's facts.
const DROPPED_FROM_BASE: [&str; 4] = ["benchmarks", "weights", "links", "license"];

fn models_dev_dir() -> PathBuf {
    match std::env::var_os("MODELS_DEV_DIR") {
        Some(dir) => PathBuf::from(dir),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/models.dev"),
    }
}

fn read_toml(path: &Path) -> Value {
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|err| panic!("{} cannot be read: {err}", path.display()));
    let table: toml::Table = toml::from_str(&text)
        .unwrap_or_else(|err| panic!("{} is not valid TOML: {err}", path.display()));
    serde_json::to_value(table).expect("TOML values are JSON values")
}

/// `over` merged onto `base`: tables merge key by key, anything else in `over` wins.
fn deep_merge(base: Value, over: Value) -> Value {
    match (base, over) {
        (Value::Object(mut base), Value::Object(over)) => {
            for (key, value) in over {
                let merged = match base.remove(&key) {
                    Some(old) => deep_merge(old, value),
                    None => value,
                };
                base.insert(key, merged);
            }
            Value::Object(base)
        }
        (_, over) => over,
    }
}

/// Every `.toml` file under `dir`, as (model id, path), the id being the path under `dir`.
fn model_files(dir: &Path, prefix: &str, out: &mut Vec<(String, PathBuf)>) {
    let entries = std::fs::read_dir(dir)
        .unwrap_or_else(|err| panic!("{} cannot be listed: {err}", dir.display()));
    for entry in entries {
        let path = entry.expect("a directory entry").path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if path.is_dir() {
            model_files(&path, &format!("{prefix}{name}/"), out);
        } else if let Some(stem) = name.strip_suffix(".toml") {
            out.push((format!("{prefix}{stem}"), path));
        }
    }
}

/// Keeps only `keys` of an object, in sorted order (so the output is the same on every run).
fn only(value: Value, keys: &[&str]) -> Map<String, Value> {
    let Value::Object(object) = value else {
        panic!("expected a table, got {value}");
    };
    let sorted: BTreeMap<String, Value> = object
        .into_iter()
        .filter(|(key, _)| keys.contains(&key.as_str()))
        .collect();
    sorted.into_iter().collect()
}

/// The catalog JSON the files give.
fn generate(root: &Path) -> String {
    let provider = read_toml(&root.join("fireworks-ai/provider.toml"));
    let mut files = Vec::new();
    model_files(&root.join("fireworks-ai/models"), "", &mut files);
    files.sort();
    let mut models = Map::new();
    for (id, path) in files {
        let mut model = read_toml(&path);
        if let Some(base) = model
            .as_object_mut()
            .and_then(|table| table.remove("base_model"))
        {
            let base = base.as_str().expect("base_model is a string").to_owned();
            let mut base = read_toml(&root.join(format!("base-models/{base}.toml")));
            let table = base.as_object_mut().expect("a table");
            for dropped in DROPPED_FROM_BASE {
                table.remove(dropped);
            }
            model = deep_merge(base, model);
        }
        let mut facts = Map::new();
        facts.insert("id".into(), Value::String(id.clone()));
        facts.extend(only(model, &MODEL_FACTS));
        let sorted: BTreeMap<String, Value> = facts.into_iter().collect();
        models.insert(id, Value::Object(sorted.into_iter().collect()));
    }
    let mut entry: BTreeMap<String, Value> = only(provider, &PROVIDER_FACTS).into_iter().collect();
    entry.insert("id".into(), Value::String("fireworks-ai".into()));
    entry.insert("models".into(), Value::Object(models));
    let entry: Map<String, Value> = entry.into_iter().collect();
    let mut json = serde_json::to_string_pretty(&Value::Object(entry)).expect("JSON");
    json.push('\n');
    json
}

#[test]
fn the_bundled_catalog_is_what_models_dev_says() {
    let root = models_dev_dir();
    let refresh = std::env::var_os("REFRESH_CATALOG").is_some();
    if !root.join("fireworks-ai").is_dir() {
        assert!(
            !refresh,
            "REFRESH_CATALOG is set but {} holds no fireworks-ai folder (set MODELS_DEV_DIR)",
            root.display()
        );
        eprintln!(
            "skipped: {} not found (set MODELS_DEV_DIR to check the catalog)",
            root.display()
        );
        return;
    }
    let generated = generate(&root);
    let committed_path = Path::new(env!("CARGO_MANIFEST_DIR")).join(CATALOG);
    if refresh {
        std::fs::write(&committed_path, &generated).expect("the catalog is written");
        return;
    }
    let committed = std::fs::read_to_string(&committed_path).expect("the committed catalog");
    if committed != generated {
        let first_difference = committed
            .lines()
            .zip(generated.lines())
            .position(|(a, b)| a != b)
            .map_or("its length".to_owned(), |line| format!("line {}", line + 1));
        panic!(
            "{CATALOG} differs from {} at {first_difference}: refresh it with \
             `REFRESH_CATALOG=1 cargo test --test catalog_refresh` and review the diff",
            root.display()
        );
    }
}

#[test]
fn base_models_merge_under_the_providers_file() {
    let base = serde_json::json!({"name": "Base", "limit": {"context": 10, "output": 5}, "cost": {"input": 1}});
    let over = serde_json::json!({"limit": {"output": 7}, "cost": {"input": 2, "output": 3}});
    assert_eq!(
        deep_merge(base, over),
        serde_json::json!({"name": "Base", "limit": {"context": 10, "output": 7}, "cost": {"input": 2, "output": 3}})
    );
}
