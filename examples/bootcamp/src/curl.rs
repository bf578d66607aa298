//! A minimal `curl`: HTTP/1.1 GET (or -X METHOD) of one `http://` URL, printing the body, so that
//! `kubectl exec POD -- curl localhost:8080` works inside the bootcamp image.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpStream, ToSocketAddrs, UdpSocket};
use std::process::ExitCode;
use std::time::Duration;

struct Opts {
    url: String,
    method: String,
    headers: Vec<String>,
    include: bool,
    head: bool,
    fail: bool,
    silent: bool,
    output: Option<String>,
    timeout: Duration,
}

pub fn main(args: &[String]) -> ExitCode {
    let opts = match parse(args) {
        Ok(o) => o,
        Err(e) => {
            eprintln!("curl: {e}");
            return ExitCode::from(2);
        }
    };
    match fetch(&opts) {
        Ok(code) => ExitCode::from(code),
        Err((code, msg)) => {
            if !opts.silent {
                eprintln!("curl: ({code}) {msg}");
            }
            ExitCode::from(code)
        }
    }
}

fn parse(args: &[String]) -> Result<Opts, String> {
    let mut o = Opts {
        url: String::new(),
        method: "GET".into(),
        headers: Vec::new(),
        include: false,
        head: false,
        fail: false,
        silent: false,
        output: None,
        timeout: Duration::from_secs(30),
    };
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let mut value = |name: &str| it.next().cloned().ok_or(format!("option {name}: requires parameter"));
        match a.as_str() {
            "-X" | "--request" => o.method = value(a)?,
            "-H" | "--header" => o.headers.push(value(a)?),
            "-o" | "--output" => o.output = Some(value(a)?),
            "-m" | "--max-time" | "--connect-timeout" => {
                let v = value(a)?;
                let secs: f64 = v.parse().map_err(|_| format!("bad timeout {v}"))?;
                o.timeout = Duration::from_secs_f64(secs.max(0.001));
            }
            "-i" | "--include" => o.include = true,
            "-I" | "--head" => {
                o.head = true;
                o.method = "HEAD".into();
            }
            "-f" | "--fail" => o.fail = true,
            "-s" | "--silent" => o.silent = true,
            "-S" | "-v" | "-L" | "-k" | "--show-error" | "--location" | "--insecure" | "-sS" | "-sSL" | "-fsSL" | "-sL" => {
                if a.contains('s') && a.starts_with("-") && !a.starts_with("--") {
                    o.silent = true;
                }
                if a.contains('f') && !a.starts_with("--") {
                    o.fail = true;
                }
            }
            s if s.starts_with('-') => return Err(format!("option {s}: is unknown")),
            s => o.url = s.to_string(),
        }
    }
    if o.url.is_empty() {
        return Err("no URL specified!".into());
    }
    Ok(o)
}

/// Performs the request; Ok(exit code) or Err((exit code, message)) with curl's exit codes.
fn fetch(o: &Opts) -> Result<u8, (u8, String)> {
    let rest = match o.url.split_once("://") {
        Some(("http", rest)) => rest,
        Some((scheme, _)) => return Err((1, format!("Protocol \"{scheme}\" not supported"))),
        None => o.url.as_str(),
    };
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    let (host, port) = split_host_port(authority).ok_or((3, format!("URL using bad/illegal format: {}", o.url)))?;
    let addrs = resolve(&host, port).ok_or((6, format!("Could not resolve host: {host}")))?;
    let mut stream = None;
    for addr in &addrs {
        if let Ok(s) = TcpStream::connect_timeout(addr, o.timeout) {
            stream = Some(s);
            break;
        }
    }
    let mut stream = stream.ok_or((7, format!("Failed to connect to {host} port {port}: Connection refused")))?;
    let _ = stream.set_read_timeout(Some(o.timeout));
    let mut req = format!("{} {path} HTTP/1.1\r\nHost: {authority}\r\nUser-Agent: curl/7.88.1\r\nAccept: */*\r\nConnection: close\r\n", o.method);
    for h in &o.headers {
        req.push_str(h);
        req.push_str("\r\n");
    }
    req.push_str("\r\n");
    stream.write_all(req.as_bytes()).map_err(|e| (55, format!("Failed sending data: {e}")))?;

    let mut reader = BufReader::new(stream);
    let mut head = String::new();
    let mut status_line = String::new();
    reader.read_line(&mut status_line).map_err(|e| (56, format!("Failure when receiving data: {e}")))?;
    let status: u16 = status_line.split_whitespace().nth(1).and_then(|s| s.parse().ok()).ok_or((8, "Weird server reply".to_string()))?;
    head.push_str(&status_line);
    let mut length: Option<usize> = None;
    let mut chunked = false;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).map_err(|e| (56, e.to_string()))? == 0 {
            break;
        }
        head.push_str(&line);
        let t = line.trim_end();
        if t.is_empty() {
            break;
        }
        if let Some((k, v)) = t.split_once(':') {
            if k.eq_ignore_ascii_case("content-length") {
                length = v.trim().parse().ok();
            } else if k.eq_ignore_ascii_case("transfer-encoding") && v.to_ascii_lowercase().contains("chunked") {
                chunked = true;
            }
        }
    }
    if o.fail && status >= 400 {
        return Err((22, format!("The requested URL returned error: {status}")));
    }
    let body = if o.head {
        Vec::new()
    } else if chunked {
        read_chunked(&mut reader).map_err(|e| (56, e.to_string()))?
    } else if let Some(n) = length {
        let mut b = vec![0; n];
        reader.read_exact(&mut b).map_err(|e| (18, format!("transfer closed with outstanding read data remaining: {e}")))?;
        b
    } else {
        let mut b = Vec::new();
        reader.read_to_end(&mut b).map_err(|e| (56, e.to_string()))?;
        b
    };
    let mut out: Box<dyn Write> = match &o.output {
        Some(path) if path != "-" => Box::new(std::fs::File::create(path).map_err(|e| (23, format!("Failed writing body: {e}")))?),
        _ => Box::new(std::io::stdout()),
    };
    if o.include || o.head {
        out.write_all(head.as_bytes()).map_err(|e| (23, e.to_string()))?;
    }
    out.write_all(&body).map_err(|e| (23, e.to_string()))?;
    out.flush().map_err(|e| (23, e.to_string()))?;
    Ok(0)
}

fn read_chunked(r: &mut impl BufRead) -> std::io::Result<Vec<u8>> {
    let mut body = Vec::new();
    loop {
        let mut size_line = String::new();
        if r.read_line(&mut size_line)? == 0 {
            return Ok(body);
        }
        let size_hex = size_line.trim().split(';').next().unwrap_or("0");
        let size = usize::from_str_radix(size_hex, 16).map_err(|_| std::io::Error::other("bad chunk size"))?;
        if size == 0 {
            return Ok(body);
        }
        let start = body.len();
        body.resize(start + size, 0);
        r.read_exact(&mut body[start..])?;
        let mut crlf = String::new();
        r.read_line(&mut crlf)?;
    }
}

fn split_host_port(authority: &str) -> Option<(String, u16)> {
    if let Some(rest) = authority.strip_prefix('[') {
        let (h, after) = rest.split_once(']')?;
        let port = match after.strip_prefix(':') {
            Some(p) => p.parse().ok()?,
            None => 80,
        };
        return Some((h.to_string(), port));
    }
    match authority.rsplit_once(':') {
        Some((h, p)) => Some((h.to_string(), p.parse().ok()?)),
        None => Some((authority.to_string(), 80)),
    }
}

/// IP literal, `localhost`, /etc/hosts, then DNS from /etc/resolv.conf (a static binary cannot
/// rely on glibc's NSS modules inside a container), then the system resolver.
fn resolve(host: &str, port: u16) -> Option<Vec<SocketAddr>> {
    if let Ok(ip) = host.parse::<IpAddr>() {
        return Some(vec![SocketAddr::new(ip, port)]);
    }
    if host == "localhost" {
        return Some(vec![SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), port)]);
    }
    if let Ok(hosts) = std::fs::read_to_string("/etc/hosts") {
        for line in hosts.lines() {
            let line = line.split('#').next().unwrap_or("");
            let mut fields = line.split_whitespace();
            let Some(ip) = fields.next().and_then(|i| i.parse::<IpAddr>().ok()) else { continue };
            if fields.any(|n| n.eq_ignore_ascii_case(host)) {
                return Some(vec![SocketAddr::new(ip, port)]);
            }
        }
    }
    if let Some(ip) = dns_lookup(host) {
        return Some(vec![SocketAddr::new(IpAddr::V4(ip), port)]);
    }
    let addrs: Vec<SocketAddr> = (host, port).to_socket_addrs().ok()?.collect();
    (!addrs.is_empty()).then_some(addrs)
}

/// A tiny DNS A-record client honouring `nameserver`, `search` and `ndots` from /etc/resolv.conf.
fn dns_lookup(host: &str) -> Option<Ipv4Addr> {
    let conf = std::fs::read_to_string("/etc/resolv.conf").ok()?;
    let mut servers = Vec::new();
    let mut search = Vec::new();
    let mut ndots = 1;
    for line in conf.lines() {
        let mut f = line.split_whitespace();
        match f.next() {
            Some("nameserver") => servers.extend(f.next().and_then(|s| s.parse::<IpAddr>().ok())),
            Some("search") => search = f.map(str::to_string).collect(),
            Some("options") => {
                for opt in f {
                    if let Some(n) = opt.strip_prefix("ndots:") {
                        ndots = n.parse().unwrap_or(1);
                    }
                }
            }
            _ => {}
        }
    }
    let mut names = Vec::new();
    let absolute = host.ends_with('.');
    let dots = host.matches('.').count();
    if absolute || dots >= ndots {
        names.push(host.trim_end_matches('.').to_string());
    }
    if !absolute {
        names.extend(search.iter().map(|d| format!("{host}.{d}")));
        if dots < ndots {
            names.push(host.to_string());
        }
    }
    for name in &names {
        for server in &servers {
            if let Some(ip) = query_a(SocketAddr::new(*server, 53), name) {
                return Some(ip);
            }
        }
    }
    None
}

fn query_a(server: SocketAddr, name: &str) -> Option<Ipv4Addr> {
    let bind: SocketAddr = if server.is_ipv4() { "0.0.0.0:0" } else { "[::]:0" }.parse().ok()?;
    let sock = UdpSocket::bind(bind).ok()?;
    sock.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
    let id: u16 = (std::process::id() as u16) ^ 0x5a5a;
    let mut q = Vec::with_capacity(64);
    q.extend_from_slice(&id.to_be_bytes());
    q.extend_from_slice(&[0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0]);
    for label in name.split('.').filter(|l| !l.is_empty()) {
        q.push(u8::try_from(label.len()).ok()?);
        q.extend_from_slice(label.as_bytes());
    }
    q.extend_from_slice(&[0, 0, 1, 0, 1]);
    sock.send_to(&q, server).ok()?;
    let mut buf = [0u8; 1500];
    let n = sock.recv(&mut buf).ok()?;
    let r = &buf[..n];
    if n < 12 || r[0..2] != id.to_be_bytes() || r[3] & 0x0f != 0 {
        return None;
    }
    let answers = u16::from_be_bytes([r[6], r[7]]);
    let mut pos = skip_name(r, 12)? + 4;
    for _ in 0..answers {
        pos = skip_name(r, pos)?;
        let rtype = u16::from_be_bytes([*r.get(pos)?, *r.get(pos + 1)?]);
        let len = usize::from(u16::from_be_bytes([*r.get(pos + 8)?, *r.get(pos + 9)?]));
        let data = r.get(pos + 10..pos + 10 + len)?;
        if rtype == 1 && len == 4 {
            return Some(Ipv4Addr::new(data[0], data[1], data[2], data[3]));
        }
        pos += 10 + len;
    }
    None
}

fn skip_name(r: &[u8], mut pos: usize) -> Option<usize> {
    loop {
        let len = *r.get(pos)?;
        if len & 0xc0 == 0xc0 {
            return Some(pos + 2);
        }
        if len == 0 {
            return Some(pos + 1);
        }
        pos += 1 + usize::from(len);
    }
}
