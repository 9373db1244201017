//! Against a plain Lanying deployment (no `/admin/` extension), `imadm user ...` still
//! works with an admin token given by `IMADM_TOKEN` or `auth login --with-token`, and
//! admin-only commands say clearly that this server does not offer them.
//!
//! The "Lanying deployment" is our real server started with `--lanying-only`, which
//! answers `/admin/*` and `/openapi.json` with a bare 404 as a server without our
//! extension does; the admin token is a service token minted beforehand.

use crate::harness::*;

#[test]
fn user_commands_fall_back_to_the_lanying_api_and_admin_commands_refuse_clearly() {
    let server = Server::start();
    server.login();
    let csv = server.tmp().join("users.csv");
    std::fs::write(
        &csv,
        "username,password\nli_lei,pw-li-lei-1\nhan_meimei,pw-han-2\nwang_wu,pw-wang-3\n",
    )
    .unwrap();
    assert_success(&run(server.imadm().args(["user", "import"]).arg(&csv)));
    let out = run(server.imadm().args([
        "token",
        "create",
        "--name",
        "lanying-admin",
        "--scope",
        "user:read",
        "--scope",
        "user:write",
        "--scope",
        "user:delete",
        "--expires",
        "1h",
        "-o",
        "json",
        "--otp",
        &server.next_code(),
    ]));
    assert_success(&out);
    let token = json_stdout(&out)["secret"].as_str().unwrap().to_owned();
    let ids: Vec<i64> = stdout(&run(server.imadm().args(["user", "list", "-o", "jsonl"])))
        .lines()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).unwrap()["user_id"]
                .as_i64()
                .unwrap()
        })
        .collect();
    assert_eq!(ids.len(), 3);

    let server = server.restart_with(&["--lanying-only"]);
    let with_token = |args: &[&str]| {
        let mut cmd = server.imadm();
        cmd.env("IMADM_TOKEN", &token).args(args);
        run(&mut cmd)
    };

    // The admin extension is gone...
    let out = with_token(&["auth", "status"]);
    assert_error(&out, 2, "does not offer the imadm admin API");
    for args in [
        &["operator", "list"][..],
        &["role", "list"],
        &["token", "list"],
        &["mfa", "status"],
    ] {
        let out = with_token(args);
        assert_error(&out, 2, "does not offer the imadm admin API");
        assert!(stderr(&out).contains("IMADM_TOKEN"), "{}", describe(&out));
    }
    // The GDPR export exists only in the admin API: exit 2, and no file.
    let recipient = age::x25519::Identity::generate().to_public().to_string();
    let out_dir = server.tmp().join("export");
    std::fs::create_dir_all(&out_dir).unwrap();
    let file = out_dir.join("x.age");
    let out = with_token(&[
        "user",
        "export",
        &ids[1].to_string(),
        "--recipient",
        &recipient,
        "--out",
        file.to_str().unwrap(),
    ]);
    assert_error(&out, 2, "does not offer the imadm admin API");
    assert_eq!(std::fs::read_dir(&out_dir).unwrap().count(), 0);

    // ...but users are listed through Lanying's own paging, in every format.
    let out = with_token(&["user", "list", "--all", "-o", "jsonl"]);
    assert_success(&out);
    let listed: Vec<serde_json::Value> = stdout(&out)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(
        listed
            .iter()
            .map(|v| v["user_id"].as_i64().unwrap())
            .collect::<Vec<_>>(),
        ids
    );
    assert_eq!(listed[0]["username"], "li_lei");
    assert_eq!(listed[0]["status"], "active");
    let out = with_token(&["user", "list", "-o", "csv"]);
    assert_success(&out);
    assert_eq!(stdout(&out).lines().count(), 4, "{}", describe(&out));

    // show needs a numeric id there (no lookup by name), and says so.
    let out = with_token(&["user", "show", "li_lei"]);
    assert_error(&out, 2, "cannot look users up by name");
    let out = with_token(&["user", "show", &ids[1].to_string(), "-o", "json"]);
    assert_success(&out);
    assert_eq!(json_stdout(&out)["username"], "han_meimei");

    // disable and delete go through Lanying's endpoints.
    assert_success(&with_token(&["user", "disable", &ids[2].to_string()]));
    let out = with_token(&["user", "list", "--status", "disabled", "-o", "jsonl"]);
    assert_eq!(stdout(&out).lines().count(), 1, "{}", describe(&out));
    // Deleting reaches Lanying's /user/delete; our emulation still applies our own rule
    // that deletes need step-up MFA, which a token cannot pass, so it is refused there.
    let out = with_token(&["user", "delete", &ids[0].to_string(), "--yes"]);
    assert_error(&out, 5, "service token can never pass");
    let out = with_token(&["user", "list", "--all", "-o", "jsonl"]);
    assert_eq!(stdout(&out).lines().count(), 3, "{}", describe(&out));

    // --with-token stores the token for a server without whoami.
    let mut login = server.imadm();
    login
        .args(["auth", "login", "--with-token", "--insecure-storage"])
        .write_stdin(format!("{token}\n"));
    let out = run(&mut login);
    assert_success(&out);
    let out = run(server.imadm().args(["user", "list", "-o", "jsonl"]));
    assert_success(&out);
    assert_eq!(stdout(&out).lines().count(), 3);
}
