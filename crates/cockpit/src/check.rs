//! Checks on values that the client and the token providers take from callers: URLs,
//! tokens and tenants. A leaf module: it uses nothing else of the crate's, so that every
//! module can use it without an import cycle.

use std::net::IpAddr;

use reqwest::Url;

/// A checked tenant as a header value.
pub(crate) fn header_value(
    tenant: &str,
) -> std::result::Result<reqwest::header::HeaderValue, String> {
    reqwest::header::HeaderValue::from_str(tenant)
        .map_err(|_| format!("tenant {tenant:?} cannot be sent as X-Tenant"))
}

/// Parses `url` and refuses plain http to anything but loopback, unless allowed.
pub(crate) fn check_url(
    url: &str,
    allow_insecure_http: bool,
    what: &str,
) -> std::result::Result<Url, String> {
    let parsed = Url::parse(url).map_err(|e| {
        format!("{what} {url:?} is not a URL ({e}): give one like https://api.cloudcockpit.com")
    })?;
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err(format!("{what} must not carry a user name or password"));
    }
    if parsed.query().is_some() || parsed.fragment().is_some() {
        return Err(format!(
            "{what} {url:?} must not have a query or a fragment"
        ));
    }
    let loopback = match parsed.host() {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => IpAddr::V4(ip).is_loopback(),
        Some(url::Host::Ipv6(ip)) => IpAddr::V6(ip).is_loopback(),
        None => {
            return Err(format!("{what} {url:?} has no host"));
        }
    };
    match parsed.scheme() {
        "https" => Ok(parsed),
        "http" if loopback || allow_insecure_http => Ok(parsed),
        "http" => Err(format!(
            "{what} {url:?} is plain http to a host that is not loopback: the token would cross \
             the network in clear text; use https (or danger_allow_insecure_http on a trusted network)"
        )),
        other => Err(format!("{what} {url:?} has scheme {other:?}: use https")),
    }
}

/// Whether a token can travel in `Authorization: Bearer <token>`: printable ASCII, no spaces.
pub(crate) fn is_header_token(token: &str) -> bool {
    !token.is_empty() && token.bytes().all(|b| b.is_ascii_graphic())
}

/// A tenant must be a domain, such as `portal.cloudcockpit.com`: printable ASCII with no
/// spaces, which also keeps CR, LF and NUL out of the `X-Tenant` header.
pub(crate) fn check_tenant(tenant: &str) -> std::result::Result<(), String> {
    if tenant.is_empty() {
        return Err(
            "tenant is empty: give the portal's domain, such as portal.cloudcockpit.com".into(),
        );
    }
    if !tenant.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(format!(
            "tenant {tenant:?} has a character that X-Tenant cannot carry (a space, a control \
             character such as CR or LF, or non-ASCII): give the portal's domain, such as \
             portal.cloudcockpit.com, with international names in their xn-- form"
        ));
    }
    Ok(())
}
