//! `zk://` URLs (upstream `zookeeper::URL::parse`, src/zookeeper/url.hpp).

/// A parsed `zk://[user:password@]servers/path` URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ZkUrl {
    /// `host:port[,host:port...]` as given.
    pub servers: String,
    /// Digest credentials (`user:password`), when present.
    pub auth: Option<(String, String)>,
    /// The znode path, always starting with `/`.
    pub path: String,
}

impl ZkUrl {
    /// Parses a `zk://` URL. Like upstream, the path defaults to `/` and
    /// credentials come before the last `@` of the authority.
    pub fn parse(url: &str) -> Result<ZkUrl, String> {
        let url = url.trim();
        let Some(rest) = url.strip_prefix("zk://") else {
            return Err(format!(
                "Expecting 'zk://' at the beginning of the URL '{url}'"
            ));
        };
        let (authority, path) = match rest.find('/') {
            Some(i) => (&rest[..i], &rest[i..]),
            None => (rest, "/"),
        };
        let (auth, servers) = match authority.rfind('@') {
            Some(i) => {
                let creds = &authority[..i];
                let Some((user, pass)) = creds.split_once(':') else {
                    return Err(format!(
                        "Credentials of the ZooKeeper URL '{url}' must be 'user:password'"
                    ));
                };
                (
                    Some((user.to_string(), pass.to_string())),
                    &authority[i + 1..],
                )
            }
            None => (None, authority),
        };
        if servers.is_empty() {
            return Err(format!("No ZooKeeper servers in the URL '{url}'"));
        }
        for s in servers.split(',') {
            let ok = s
                .rsplit_once(':')
                .map(|(h, p)| !h.is_empty() && p.parse::<u16>().is_ok())
                .unwrap_or(false);
            if !ok {
                return Err(format!(
                    "Invalid ZooKeeper server '{s}' in '{url}': expected host:port"
                ));
            }
        }
        // Upstream strips a trailing '/' (except for the root).
        let mut path = path.to_string();
        while path.len() > 1 && path.ends_with('/') {
            path.pop();
        }
        Ok(ZkUrl {
            servers: servers.to_string(),
            auth,
            path,
        })
    }

    /// The `host:port` server addresses.
    pub fn server_list(&self) -> Vec<String> {
        self.servers.split(',').map(str::to_string).collect()
    }
}

impl std::fmt::Display for ZkUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Credentials are not printed (upstream logs them; we do not).
        write!(f, "zk://{}{}", self.servers, self.path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_servers_path_and_auth() {
        let u = ZkUrl::parse("zk://a:1,b:2/mesos/").unwrap();
        assert_eq!(u.server_list(), vec!["a:1", "b:2"]);
        assert_eq!(u.path, "/mesos");
        assert_eq!(u.auth, None);
        let u = ZkUrl::parse("zk://jo:s3@cr@t@h:2181").unwrap();
        assert_eq!(u.auth, Some(("jo".into(), "s3@cr@t".into())));
        assert_eq!(u.path, "/");
        assert!(ZkUrl::parse("http://h:1/x").is_err());
        assert!(ZkUrl::parse("zk:///x").is_err());
        assert!(ZkUrl::parse("zk://host/x").is_err());
    }
}
