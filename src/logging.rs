//! Diagnostics on stderr. Off by default for the CLI (library crates log scary lines on
//! ordinary conditions, and a tool's stderr belongs to its errors); `-v` or `IMADM_LOG`
//! turns them on. The server logs at info by default. Nothing logged carries a secret:
//! requests are logged by method, path, status and request id, never headers or bodies.

pub fn init_cli(verbose: u8) {
    let filter = match (std::env::var("IMADM_LOG").ok(), verbose) {
        (Some(f), _) => f,
        (None, 0) => return,
        (None, 1) => "imadm=debug".to_owned(),
        (None, _) => "debug".to_owned(),
    };
    init(&filter);
}

pub fn init_server(verbose: u8, quiet: bool) {
    let filter = match (std::env::var("IMADM_LOG").ok(), verbose, quiet) {
        (Some(f), _, _) => f,
        (None, _, true) => "error".to_owned(),
        (None, 0, _) => "imadm_server=info,warn".to_owned(),
        (None, 1, _) => "imadm_server=debug,imadm=debug,info".to_owned(),
        (None, _, _) => "debug".to_owned(),
    };
    init(&filter);
}

fn init(filter: &str) {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new(filter))
        .with_writer(std::io::stderr)
        .with_target(false)
        .try_init();
}
