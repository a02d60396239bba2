//! Settings that must be refused or hidden whatever form they come in: numbers TOML can write
//! but JSON cannot hold, passwords in base URLs that do not parse, headers that change how a
//! request is framed.

use fireworks_provider::{Error, FireworksProvider, FireworksSettings, RequestOptions};

fn toml_error<T: serde::de::DeserializeOwned + std::fmt::Debug>(text: &str) -> String {
    toml::from_str::<T>(text).unwrap_err().to_string()
}

/// `error` names `field` first, says it must be finite and shows the `value` refused.
fn refuses_non_finite(error: &str, field: &str, value: &str) -> bool {
    error.starts_with(field) && error.contains("finite") && error.contains(&format!("not {value}"))
}

#[test]
fn non_finite_numbers_in_toml_are_refused_naming_the_field() {
    for (text, field, value) in [
        (
            "api_key = \"k\"\n[options]\ntemperature = nan\n",
            "options.temperature",
            "NaN",
        ),
        (
            "api_key = \"k\"\n[options]\ntopP = -inf\n",
            "options.topP",
            "-inf",
        ),
        (
            "api_key = \"k\"\n[options.extra_body]\npresence_penalty = inf\n",
            "options.extra_body.presence_penalty",
            "inf",
        ),
        (
            "api_key = \"k\"\n[prices]\ninput = nan\noutput = 1.0\n",
            "prices.input",
            "NaN",
        ),
        (
            "api_key = \"k\"\n[prices]\ninput = 1.0\noutput = inf\n",
            "prices.output",
            "inf",
        ),
        (
            "api_key = \"k\"\n[prices]\ninput = 1.0\noutput = 1.0\ncacheRead = nan\n",
            "prices.cacheRead",
            "NaN",
        ),
        (
            "api_key = \"k\"\n[options.extra_body]\nweights = [1.0, nan]\n",
            "options.extra_body.weights[1]",
            "NaN",
        ),
        (
            "api_key = \"k\"\n[options.response_format]\ntype = \"json_schema\"\nname = \"a\"\n\
             [options.response_format.schema]\nmaximum = inf\n",
            "options.response_format",
            "inf",
        ),
        (
            "api_key = \"k\"\n[options.extraBody.a]\nb = [{ c = -inf }]\n",
            "options.extraBody.a.b[0].c",
            "-inf",
        ),
    ] {
        let error = toml_error::<FireworksSettings>(text);
        assert!(refuses_non_finite(&error, field, value), "{text}: {error}");
    }
    for (text, field, value) in [
        ("temperature = nan\n", "temperature", "NaN"),
        ("top_p = -inf\n", "top_p", "-inf"),
        ("[extra_body]\nx = nan\n", "extra_body.x", "NaN"),
    ] {
        let error = toml_error::<RequestOptions>(text);
        assert!(refuses_non_finite(&error, field, value), "{text}: {error}");
    }
    // Finite values still read.
    let options: RequestOptions = toml::from_str("temperature = 0.5\ntop_p = 1\n").unwrap();
    assert_eq!(options.temperature, Some(0.5));
}

#[test]
fn the_password_of_a_base_url_that_does_not_parse_is_never_shown() {
    for url in [
        "http://user:pw-secret@127.0.0.1:99999/v1",
        "http://user:pw-secret@ho st/v1",
        "user:pw-secret@127.0.0.1:8000/v1",
        "http://a@b:pw-secret@127.0.0.1:99999/v1",
    ] {
        let settings = FireworksSettings::new("k", "m").with_base_url(url);
        let shown = format!("{settings:?} {}", settings.base_url());
        assert!(!shown.contains("pw-secret"), "{url}: {shown}");
        assert!(shown.contains("[hidden]@"), "{url}: {shown}");
        match FireworksProvider::new(settings) {
            Err(Error::Config(message)) => assert!(!message.contains("pw-secret"), "{message}"),
            other => panic!("{url}: {other:?}"),
        }
    }
    // A URL that parses keeps everything but its password.
    let settings = FireworksSettings::new("k", "m").with_base_url("http://user:pw-secret@h/v1");
    assert_eq!(settings.base_url(), "http://user:hidden@h/v1");
}

#[test]
fn headers_that_change_framing_connection_or_encoding_are_config_errors() {
    for name in [
        "Transfer-Encoding",
        "Content-Encoding",
        "Connection",
        "Upgrade",
        "TE",
        "Keep-Alive",
        "Accept-Encoding",
    ] {
        let settings = FireworksSettings::new("k", "m").with_header(name, "gzip");
        for result in [
            settings.validate(),
            FireworksProvider::new(settings).map(drop),
        ] {
            match result {
                Err(Error::Config(message)) => {
                    assert!(message.contains(name), "{name}: {message}")
                }
                other => panic!("{name}: {other:?}"),
            }
        }
    }
    assert!(
        FireworksSettings::new("k", "m")
            .with_header("x-team", "core")
            .validate()
            .is_ok()
    );
}
