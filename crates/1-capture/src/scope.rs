//! URL normalisation and crawl scope.

use url::Url;

/// Which URLs of a seed are followed as pages (images are fetched from any http/https host).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Scope {
    /// Same host and port as a seed (http↔https on default ports counts as the same host).
    Host,
    /// The seed host and its subdomains (a leading `www.` of the seed is ignored).
    /// No public-suffix list: `example.co.uk` seeds stay at `example.co.uk`, never `co.uk`.
    Domain,
    /// URLs whose normalised form starts with a normalised seed URL.
    Prefix,
}

/// Normalises a URL for de-duplication: http/https only, fragment dropped, default port
/// dropped. `url::Url` already lowercases scheme and host and removes default ports when
/// parsing; we still strip them explicitly so hand-built URLs compare equal too.
pub fn normalize(url: &Url) -> Option<Url> {
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return None;
    }
    let mut u = url.clone();
    u.set_fragment(None);
    if u.port().is_some() && u.port() == default_port(u.scheme()) {
        // Cannot fail for http/https URLs with a host.
        let _ = u.set_port(None);
    }
    if u.path().is_empty() {
        u.set_path("/");
    }
    Some(u)
}

/// Parses `href` relative to `base` and normalises it.
pub fn resolve(base: &Url, href: &str) -> Option<Url> {
    let href = href.trim();
    if href.is_empty() {
        return None;
    }
    base.join(href).ok().and_then(|u| normalize(&u))
}

fn default_port(scheme: &str) -> Option<u16> {
    match scheme {
        "http" => Some(80),
        "https" => Some(443),
        _ => None,
    }
}

fn effective_port(u: &Url) -> Option<u16> {
    u.port_or_known_default()
}

fn is_default_port(u: &Url) -> bool {
    u.port().is_none()
}

/// Host key used for politeness (host plus effective port).
pub fn host_key(u: &Url) -> String {
    format!(
        "{}:{}",
        u.host_str().unwrap_or_default(),
        effective_port(u).unwrap_or(0)
    )
}

/// True when `candidate` is in scope of any seed.
pub fn in_scope(scope: Scope, seeds: &[Url], candidate: &Url) -> bool {
    seeds.iter().any(|seed| in_scope_of(scope, seed, candidate))
}

fn in_scope_of(scope: Scope, seed: &Url, c: &Url) -> bool {
    let (Some(sh), Some(ch)) = (seed.host_str(), c.host_str()) else {
        return false;
    };
    match scope {
        Scope::Host => {
            sh == ch && (effective_port(seed) == effective_port(c) || (is_default_port(seed) && is_default_port(c)))
        }
        Scope::Domain => {
            let base = sh.strip_prefix("www.").unwrap_or(sh);
            // IP literals have no subdomains.
            if seed.host().is_some_and(|h| !matches!(h, url::Host::Domain(_))) {
                return sh == ch && effective_port(seed) == effective_port(c);
            }
            ch == base || ch.ends_with(&format!(".{base}"))
        }
        Scope::Prefix => match normalize(seed) {
            Some(s) => c.as_str().starts_with(s.as_str()),
            None => false,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn u(s: &str) -> Url {
        Url::parse(s).expect("test url")
    }

    #[test]
    fn normalisation() {
        let n = normalize(&u("HTTP://Example.COM:80/a?b=1#frag")).expect("norm");
        assert_eq!(n.as_str(), "http://example.com/a?b=1");
        let n = normalize(&u("https://example.com:443")).expect("norm");
        assert_eq!(n.as_str(), "https://example.com/");
        assert!(normalize(&u("mailto:a@b.c")).is_none());
        assert!(resolve(&u("http://h/a/b"), "javascript:void(0)").is_none());
        assert_eq!(
            resolve(&u("http://h/a/b"), "../c#x").map(|u| u.to_string()),
            Some("http://h/c".to_string())
        );
    }

    #[test]
    fn scopes() {
        let seeds = [u("http://www.example.com/art/")];
        assert!(in_scope(Scope::Host, &seeds, &u("https://www.example.com/x")));
        assert!(!in_scope(Scope::Host, &seeds, &u("http://cdn.example.com/x")));
        assert!(!in_scope(Scope::Host, &seeds, &u("http://www.example.com:8080/x")));
        assert!(in_scope(Scope::Domain, &seeds, &u("http://cdn.example.com/x")));
        assert!(in_scope(Scope::Domain, &seeds, &u("http://example.com/x")));
        assert!(!in_scope(Scope::Domain, &seeds, &u("http://badexample.com/x")));
        assert!(in_scope(Scope::Prefix, &seeds, &u("http://www.example.com/art/1")));
        assert!(!in_scope(Scope::Prefix, &seeds, &u("http://www.example.com/other")));
        let ip = [u("http://127.0.0.1:8000/")];
        assert!(in_scope(Scope::Domain, &ip, &u("http://127.0.0.1:8000/a")));
        assert!(!in_scope(Scope::Domain, &ip, &u("http://127.0.0.1:8001/a")));
    }
}
