# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_imadm_global_optspecs
    string join \n profile= server= app-id= ca-cert= insecure-http o/output= no-input y/yes config-dir= color= v/verbose q/quiet h/help V/version
end

function __fish_imadm_needs_command
    # Figure out if the current invocation already has a command.
    set -l cmd (commandline -opc)
    set -e cmd[1]
    argparse -s (__fish_imadm_global_optspecs) -- $cmd 2>/dev/null
    or return
    if set -q argv[1]
        # Also print the command, so this can be used to figure out what it is.
        echo $argv[1]
        return 1
    end
    return 0
end

function __fish_imadm_using_subcommand
    set -l cmd (__fish_imadm_needs_command)
    test -z "$cmd"
    and return 1
    contains -- $cmd[1] $argv
end

complete -c imadm -n "__fish_imadm_needs_command" -l profile -d 'Saved server profile to use' -r
complete -c imadm -n "__fish_imadm_needs_command" -l server -d 'Admin API base URL (https only)' -r
complete -c imadm -n "__fish_imadm_needs_command" -l app-id -d 'Lanying app id, sent as the `app_id` header' -r
complete -c imadm -n "__fish_imadm_needs_command" -l ca-cert -d 'Extra PEM CA certificate to trust' -r -F
complete -c imadm -n "__fish_imadm_needs_command" -s o -l output -d 'Output format [default: table on a terminal, tsv when piped]' -r -f -a "table\t''
json\t''
jsonl\t''
csv\t''
tsv\t''"
complete -c imadm -n "__fish_imadm_needs_command" -l config-dir -d 'Directory holding profiles [default: XDG config dir imadm/]' -r -F
complete -c imadm -n "__fish_imadm_needs_command" -l color -d 'When to use colour (NO_COLOR is honoured)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c imadm -n "__fish_imadm_needs_command" -l insecure-http -d 'Allow an http:// server URL, for a loopback address only'
complete -c imadm -n "__fish_imadm_needs_command" -l no-input -d 'Never prompt; fail with a hint instead (implied when stdin is not a terminal)'
complete -c imadm -n "__fish_imadm_needs_command" -s y -l yes -d 'Answer yes to confirmations'
complete -c imadm -n "__fish_imadm_needs_command" -s v -l verbose -d 'More diagnostics on stderr (repeat for more); never secrets'
complete -c imadm -n "__fish_imadm_needs_command" -s q -l quiet -d 'Fewer messages on stderr'
complete -c imadm -n "__fish_imadm_needs_command" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c imadm -n "__fish_imadm_needs_command" -s V -l version -d 'Print version'
complete -c imadm -n "__fish_imadm_needs_command" -f -a "auth" -d 'Log in and out, show and print credentials'
complete -c imadm -n "__fish_imadm_needs_command" -f -a "mfa" -d 'Manage your multi-factor authentication (TOTP, passkeys)'
complete -c imadm -n "__fish_imadm_needs_command" -f -a "user" -d 'IM users (Lanying-compatible): list, show, create, import, disable, delete ...'
complete -c imadm -n "__fish_imadm_needs_command" -f -a "operator" -d 'Console operators (admin accounts) and their roles'
complete -c imadm -n "__fish_imadm_needs_command" -f -a "role" -d 'RBAC roles and the permission catalogue'
complete -c imadm -n "__fish_imadm_needs_command" -f -a "token" -d 'Service tokens for cron and CI'
complete -c imadm -n "__fish_imadm_needs_command" -f -a "audit" -d 'The tamper-evident audit log and security alerts'
complete -c imadm -n "__fish_imadm_needs_command" -f -a "access" -d 'Access reviews: who can do what, signed attestations, revocations'
complete -c imadm -n "__fish_imadm_needs_command" -f -a "incident" -d 'Incident response: open an incident, scope, contain, notify, report, close'
complete -c imadm -n "__fish_imadm_needs_command" -f -a "compliance" -d 'Compliance gate for CI: controls mapped to ISO 27001 and GDPR'
complete -c imadm -n "__fish_imadm_needs_command" -f -a "notify" -d 'Alert notification channels of the server: delivery status, test messages'
complete -c imadm -n "__fish_imadm_needs_command" -f -a "backup" -d 'Encrypted backups of the server\'s data: run, verify, restore'
complete -c imadm -n "__fish_imadm_needs_command" -f -a "server" -d 'Run the reference admin API server'
complete -c imadm -n "__fish_imadm_needs_command" -f -a "config" -d 'Read and change settings and profiles'
complete -c imadm -n "__fish_imadm_needs_command" -f -a "completion" -d 'Print a shell completion script'
complete -c imadm -n "__fish_imadm_needs_command" -f -a "help" -d 'Help on a command or topic (`imadm help exit-codes`)'
complete -c imadm -n "__fish_imadm_needs_command" -f -a "__generate-assets" -d 'Regenerate completions/ and man/ (for maintainers)'
complete -c imadm -n "__fish_imadm_needs_command" -f -a "__synth-audit-report" -d 'Write a synthetic signed audit report (for bench/audit.sh)'
complete -c imadm -n "__fish_imadm_needs_command" -f -a "__seed-audit" -d 'Append synthetic events to a stopped server\'s audit log (for bench/audit.sh)'
complete -c imadm -n "__fish_imadm_using_subcommand auth; and not __fish_seen_subcommand_from login status logout token change-password" -l profile -d 'Saved server profile to use' -r
complete -c imadm -n "__fish_imadm_using_subcommand auth; and not __fish_seen_subcommand_from login status logout token change-password" -l server -d 'Admin API base URL (https only)' -r
complete -c imadm -n "__fish_imadm_using_subcommand auth; and not __fish_seen_subcommand_from login status logout token change-password" -l app-id -d 'Lanying app id, sent as the `app_id` header' -r
complete -c imadm -n "__fish_imadm_using_subcommand auth; and not __fish_seen_subcommand_from login status logout token change-password" -l ca-cert -d 'Extra PEM CA certificate to trust' -r -F
complete -c imadm -n "__fish_imadm_using_subcommand auth; and not __fish_seen_subcommand_from login status logout token change-password" -s o -l output -d 'Output format [default: table on a terminal, tsv when piped]' -r -f -a "table\t''
json\t''
jsonl\t''
csv\t''
tsv\t''"
complete -c imadm -n "__fish_imadm_using_subcommand auth; and not __fish_seen_subcommand_from login status logout token change-password" -l config-dir -d 'Directory holding profiles [default: XDG config dir imadm/]' -r -F
complete -c imadm -n "__fish_imadm_using_subcommand auth; and not __fish_seen_subcommand_from login status logout token change-password" -l color -d 'When to use colour (NO_COLOR is honoured)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c imadm -n "__fish_imadm_using_subcommand auth; and not __fish_seen_subcommand_from login status logout token change-password" -l insecure-http -d 'Allow an http:// server URL, for a loopback address only'
complete -c imadm -n "__fish_imadm_using_subcommand auth; and not __fish_seen_subcommand_from login status logout token change-password" -l no-input -d 'Never prompt; fail with a hint instead (implied when stdin is not a terminal)'
complete -c imadm -n "__fish_imadm_using_subcommand auth; and not __fish_seen_subcommand_from login status logout token change-password" -s y -l yes -d 'Answer yes to confirmations'
complete -c imadm -n "__fish_imadm_using_subcommand auth; and not __fish_seen_subcommand_from login status logout token change-password" -s v -l verbose -d 'More diagnostics on stderr (repeat for more); never secrets'
complete -c imadm -n "__fish_imadm_using_subcommand auth; and not __fish_seen_subcommand_from login status logout token change-password" -s q -l quiet -d 'Fewer messages on stderr'
complete -c imadm -n "__fish_imadm_using_subcommand auth; and not __fish_seen_subcommand_from login status logout token change-password" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c imadm -n "__fish_imadm_using_subcommand auth; and not __fish_seen_subcommand_from login status logout token change-password" -s V -l version -d 'Print version'
complete -c imadm -n "__fish_imadm_using_subcommand auth; and not __fish_seen_subcommand_from login status logout token change-password" -f -a "login" -d 'Log in with password and TOTP; the session goes into the OS keyring'
complete -c imadm -n "__fish_imadm_using_subcommand auth; and not __fish_seen_subcommand_from login status logout token change-password" -f -a "status" -d 'Show who you are logged in as, where, until when, and where it is stored'
complete -c imadm -n "__fish_imadm_using_subcommand auth; and not __fish_seen_subcommand_from login status logout token change-password" -f -a "logout" -d 'Revoke the session on the server and forget it locally'
complete -c imadm -n "__fish_imadm_using_subcommand auth; and not __fish_seen_subcommand_from login status logout token change-password" -f -a "token" -d 'Print a valid access token for scripts (refreshed first)'
complete -c imadm -n "__fish_imadm_using_subcommand auth; and not __fish_seen_subcommand_from login status logout token change-password" -f -a "change-password" -d 'Change your password (required after `server init`)'
complete -c imadm -n "__fish_imadm_using_subcommand auth; and __fish_seen_subcommand_from login" -s u -l username -d 'Operator username (prompted if omitted)' -r
complete -c imadm -n "__fish_imadm_using_subcommand auth; and __fish_seen_subcommand_from login" -l otp -d 'TOTP code (or a recovery code); prefer IMADM_OTP over the flag in scripts' -r
complete -c imadm -n "__fish_imadm_using_subcommand auth; and __fish_seen_subcommand_from login" -l profile -d 'Saved server profile to use' -r
complete -c imadm -n "__fish_imadm_using_subcommand auth; and __fish_seen_subcommand_from login" -l server -d 'Admin API base URL (https only)' -r
complete -c imadm -n "__fish_imadm_using_subcommand auth; and __fish_seen_subcommand_from login" -l app-id -d 'Lanying app id, sent as the `app_id` header' -r
complete -c imadm -n "__fish_imadm_using_subcommand auth; and __fish_seen_subcommand_from login" -l ca-cert -d 'Extra PEM CA certificate to trust' -r -F
complete -c imadm -n "__fish_imadm_using_subcommand auth; and __fish_seen_subcommand_from login" -s o -l output -d 'Output format [default: table on a terminal, tsv when piped]' -r -f -a "table\t''
json\t''
jsonl\t''
csv\t''
tsv\t''"
complete -c imadm -n "__fish_imadm_using_subcommand auth; and __fish_seen_subcommand_from login" -l config-dir -d 'Directory holding profiles [default: XDG config dir imadm/]' -r -F
complete -c imadm -n "__fish_imadm_using_subcommand auth; and __fish_seen_subcommand_from login" -l color -d 'When to use colour (NO_COLOR is honoured)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c imadm -n "__fish_imadm_using_subcommand auth; and __fish_seen_subcommand_from login" -l password-stdin -d 'Read the password from standard input'
complete -c imadm -n "__fish_imadm_using_subcommand auth; and __fish_seen_subcommand_from login" -l with-token -d 'Read an access token from standard input instead of logging in'
complete -c imadm -n "__fish_imadm_using_subcommand auth; and __fish_seen_subcommand_from login" -l insecure-storage -d 'Keep the session in a 0600 file under the config dir instead of the OS keyring'
complete -c imadm -n "__fish_imadm_using_subcommand auth; and __fish_seen_subcommand_from login" -l web -d 'Log in in the browser with password and passkey (fingerprint, face, PIN): prints a URL and code, opens the browser when there is a display'
complete -c imadm -n "__fish_imadm_using_subcommand auth; and __fish_seen_subcommand_from login" -l no-browser -d 'With --web: print the URL but do not open a browser'
complete -c imadm -n "__fish_imadm_using_subcommand auth; and __fish_seen_subcommand_from login" -l insecure-http -d 'Allow an http:// server URL, for a loopback address only'
complete -c imadm -n "__fish_imadm_using_subcommand auth; and __fish_seen_subcommand_from login" -l no-input -d 'Never prompt; fail with a hint instead (implied when stdin is not a terminal)'
complete -c imadm -n "__fish_imadm_using_subcommand auth; and __fish_seen_subcommand_from login" -s y -l yes -d 'Answer yes to confirmations'
complete -c imadm -n "__fish_imadm_using_subcommand auth; and __fish_seen_subcommand_from login" -s v -l verbose -d 'More diagnostics on stderr (repeat for more); never secrets'
complete -c imadm -n "__fish_imadm_using_subcommand auth; and __fish_seen_subcommand_from login" -s q -l quiet -d 'Fewer messages on stderr'
complete -c imadm -n "__fish_imadm_using_subcommand auth; and __fish_seen_subcommand_from login" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c imadm -n "__fish_imadm_using_subcommand auth; and __fish_seen_subcommand_from login" -s V -l version -d 'Print version'
complete -c imadm -n "__fish_imadm_using_subcommand auth; and __fish_seen_subcommand_from status" -l profile -d 'Saved server profile to use' -r
complete -c imadm -n "__fish_imadm_using_subcommand auth; and __fish_seen_subcommand_from status" -l server -d 'Admin API base URL (https only)' -r
complete -c imadm -n "__fish_imadm_using_subcommand auth; and __fish_seen_subcommand_from status" -l app-id -d 'Lanying app id, sent as the `app_id` header' -r
complete -c imadm -n "__fish_imadm_using_subcommand auth; and __fish_seen_subcommand_from status" -l ca-cert -d 'Extra PEM CA certificate to trust' -r -F
complete -c imadm -n "__fish_imadm_using_subcommand auth; and __fish_seen_subcommand_from status" -s o -l output -d 'Output format [default: table on a terminal, tsv when piped]' -r -f -a "table\t''
json\t''
jsonl\t''
csv\t''
tsv\t''"
complete -c imadm -n "__fish_imadm_using_subcommand auth; and __fish_seen_subcommand_from status" -l config-dir -d 'Directory holding profiles [default: XDG config dir imadm/]' -r -F
complete -c imadm -n "__fish_imadm_using_subcommand auth; and __fish_seen_subcommand_from status" -l color -d 'When to use colour (NO_COLOR is honoured)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c imadm -n "__fish_imadm_using_subcommand auth; and __fish_seen_subcommand_from status" -l insecure-http -d 'Allow an http:// server URL, for a loopback address only'
complete -c imadm -n "__fish_imadm_using_subcommand auth; and __fish_seen_subcommand_from status" -l no-input -d 'Never prompt; fail with a hint instead (implied when stdin is not a terminal)'
complete -c imadm -n "__fish_imadm_using_subcommand auth; and __fish_seen_subcommand_from status" -s y -l yes -d 'Answer yes to confirmations'
complete -c imadm -n "__fish_imadm_using_subcommand auth; and __fish_seen_subcommand_from status" -s v -l verbose -d 'More diagnostics on stderr (repeat for more); never secrets'
complete -c imadm -n "__fish_imadm_using_subcommand auth; and __fish_seen_subcommand_from status" -s q -l quiet -d 'Fewer messages on stderr'
complete -c imadm -n "__fish_imadm_using_subcommand auth; and __fish_seen_subcommand_from status" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c imadm -n "__fish_imadm_using_subcommand auth; and __fish_seen_subcommand_from status" -s V -l version -d 'Print version'
complete -c imadm -n "__fish_imadm_using_subcommand auth; and __fish_seen_subcommand_from logout" -l profile -d 'Saved server profile to use' -r
complete -c imadm -n "__fish_imadm_using_subcommand auth; and __fish_seen_subcommand_from logout" -l server -d 'Admin API base URL (https only)' -r
complete -c imadm -n "__fish_imadm_using_subcommand auth; and __fish_seen_subcommand_from logout" -l app-id -d 'Lanying app id, sent as the `app_id` header' -r
complete -c imadm -n "__fish_imadm_using_subcommand auth; and __fish_seen_subcommand_from logout" -l ca-cert -d 'Extra PEM CA certificate to trust' -r -F
complete -c imadm -n "__fish_imadm_using_subcommand auth; and __fish_seen_subcommand_from logout" -s o -l output -d 'Output format [default: table on a terminal, tsv when piped]' -r -f -a "table\t''
json\t''
jsonl\t''
csv\t''
tsv\t''"
complete -c imadm -n "__fish_imadm_using_subcommand auth; and __fish_seen_subcommand_from logout" -l config-dir -d 'Directory holding profiles [default: XDG config dir imadm/]' -r -F
complete -c imadm -n "__fish_imadm_using_subcommand auth; and __fish_seen_subcommand_from logout" -l color -d 'When to use colour (NO_COLOR is honoured)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c imadm -n "__fish_imadm_using_subcommand auth; and __fish_seen_subcommand_from logout" -l insecure-http -d 'Allow an http:// server URL, for a loopback address only'
complete -c imadm -n "__fish_imadm_using_subcommand auth; and __fish_seen_subcommand_from logout" -l no-input -d 'Never prompt; fail with a hint instead (implied when stdin is not a terminal)'
complete -c imadm -n "__fish_imadm_using_subcommand auth; and __fish_seen_subcommand_from logout" -s y -l yes -d 'Answer yes to confirmations'
complete -c imadm -n "__fish_imadm_using_subcommand auth; and __fish_seen_subcommand_from logout" -s v -l verbose -d 'More diagnostics on stderr (repeat for more); never secrets'
complete -c imadm -n "__fish_imadm_using_subcommand auth; and __fish_seen_subcommand_from logout" -s q -l quiet -d 'Fewer messages on stderr'
complete -c imadm -n "__fish_imadm_using_subcommand auth; and __fish_seen_subcommand_from logout" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c imadm -n "__fish_imadm_using_subcommand auth; and __fish_seen_subcommand_from logout" -s V -l version -d 'Print version'
complete -c imadm -n "__fish_imadm_using_subcommand auth; and __fish_seen_subcommand_from token" -l profile -d 'Saved server profile to use' -r
complete -c imadm -n "__fish_imadm_using_subcommand auth; and __fish_seen_subcommand_from token" -l server -d 'Admin API base URL (https only)' -r
complete -c imadm -n "__fish_imadm_using_subcommand auth; and __fish_seen_subcommand_from token" -l app-id -d 'Lanying app id, sent as the `app_id` header' -r
complete -c imadm -n "__fish_imadm_using_subcommand auth; and __fish_seen_subcommand_from token" -l ca-cert -d 'Extra PEM CA certificate to trust' -r -F
complete -c imadm -n "__fish_imadm_using_subcommand auth; and __fish_seen_subcommand_from token" -s o -l output -d 'Output format [default: table on a terminal, tsv when piped]' -r -f -a "table\t''
json\t''
jsonl\t''
csv\t''
tsv\t''"
complete -c imadm -n "__fish_imadm_using_subcommand auth; and __fish_seen_subcommand_from token" -l config-dir -d 'Directory holding profiles [default: XDG config dir imadm/]' -r -F
complete -c imadm -n "__fish_imadm_using_subcommand auth; and __fish_seen_subcommand_from token" -l color -d 'When to use colour (NO_COLOR is honoured)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c imadm -n "__fish_imadm_using_subcommand auth; and __fish_seen_subcommand_from token" -l insecure-http -d 'Allow an http:// server URL, for a loopback address only'
complete -c imadm -n "__fish_imadm_using_subcommand auth; and __fish_seen_subcommand_from token" -l no-input -d 'Never prompt; fail with a hint instead (implied when stdin is not a terminal)'
complete -c imadm -n "__fish_imadm_using_subcommand auth; and __fish_seen_subcommand_from token" -s y -l yes -d 'Answer yes to confirmations'
complete -c imadm -n "__fish_imadm_using_subcommand auth; and __fish_seen_subcommand_from token" -s v -l verbose -d 'More diagnostics on stderr (repeat for more); never secrets'
complete -c imadm -n "__fish_imadm_using_subcommand auth; and __fish_seen_subcommand_from token" -s q -l quiet -d 'Fewer messages on stderr'
complete -c imadm -n "__fish_imadm_using_subcommand auth; and __fish_seen_subcommand_from token" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c imadm -n "__fish_imadm_using_subcommand auth; and __fish_seen_subcommand_from token" -s V -l version -d 'Print version'
complete -c imadm -n "__fish_imadm_using_subcommand auth; and __fish_seen_subcommand_from change-password" -l profile -d 'Saved server profile to use' -r
complete -c imadm -n "__fish_imadm_using_subcommand auth; and __fish_seen_subcommand_from change-password" -l server -d 'Admin API base URL (https only)' -r
complete -c imadm -n "__fish_imadm_using_subcommand auth; and __fish_seen_subcommand_from change-password" -l app-id -d 'Lanying app id, sent as the `app_id` header' -r
complete -c imadm -n "__fish_imadm_using_subcommand auth; and __fish_seen_subcommand_from change-password" -l ca-cert -d 'Extra PEM CA certificate to trust' -r -F
complete -c imadm -n "__fish_imadm_using_subcommand auth; and __fish_seen_subcommand_from change-password" -s o -l output -d 'Output format [default: table on a terminal, tsv when piped]' -r -f -a "table\t''
json\t''
jsonl\t''
csv\t''
tsv\t''"
complete -c imadm -n "__fish_imadm_using_subcommand auth; and __fish_seen_subcommand_from change-password" -l config-dir -d 'Directory holding profiles [default: XDG config dir imadm/]' -r -F
complete -c imadm -n "__fish_imadm_using_subcommand auth; and __fish_seen_subcommand_from change-password" -l color -d 'When to use colour (NO_COLOR is honoured)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c imadm -n "__fish_imadm_using_subcommand auth; and __fish_seen_subcommand_from change-password" -l password-stdin -d 'Read the current and the new password from standard input, one per line'
complete -c imadm -n "__fish_imadm_using_subcommand auth; and __fish_seen_subcommand_from change-password" -l insecure-http -d 'Allow an http:// server URL, for a loopback address only'
complete -c imadm -n "__fish_imadm_using_subcommand auth; and __fish_seen_subcommand_from change-password" -l no-input -d 'Never prompt; fail with a hint instead (implied when stdin is not a terminal)'
complete -c imadm -n "__fish_imadm_using_subcommand auth; and __fish_seen_subcommand_from change-password" -s y -l yes -d 'Answer yes to confirmations'
complete -c imadm -n "__fish_imadm_using_subcommand auth; and __fish_seen_subcommand_from change-password" -s v -l verbose -d 'More diagnostics on stderr (repeat for more); never secrets'
complete -c imadm -n "__fish_imadm_using_subcommand auth; and __fish_seen_subcommand_from change-password" -s q -l quiet -d 'Fewer messages on stderr'
complete -c imadm -n "__fish_imadm_using_subcommand auth; and __fish_seen_subcommand_from change-password" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c imadm -n "__fish_imadm_using_subcommand auth; and __fish_seen_subcommand_from change-password" -s V -l version -d 'Print version'
complete -c imadm -n "__fish_imadm_using_subcommand mfa; and not __fish_seen_subcommand_from enroll status disable recovery-codes passkey" -l profile -d 'Saved server profile to use' -r
complete -c imadm -n "__fish_imadm_using_subcommand mfa; and not __fish_seen_subcommand_from enroll status disable recovery-codes passkey" -l server -d 'Admin API base URL (https only)' -r
complete -c imadm -n "__fish_imadm_using_subcommand mfa; and not __fish_seen_subcommand_from enroll status disable recovery-codes passkey" -l app-id -d 'Lanying app id, sent as the `app_id` header' -r
complete -c imadm -n "__fish_imadm_using_subcommand mfa; and not __fish_seen_subcommand_from enroll status disable recovery-codes passkey" -l ca-cert -d 'Extra PEM CA certificate to trust' -r -F
complete -c imadm -n "__fish_imadm_using_subcommand mfa; and not __fish_seen_subcommand_from enroll status disable recovery-codes passkey" -s o -l output -d 'Output format [default: table on a terminal, tsv when piped]' -r -f -a "table\t''
json\t''
jsonl\t''
csv\t''
tsv\t''"
complete -c imadm -n "__fish_imadm_using_subcommand mfa; and not __fish_seen_subcommand_from enroll status disable recovery-codes passkey" -l config-dir -d 'Directory holding profiles [default: XDG config dir imadm/]' -r -F
complete -c imadm -n "__fish_imadm_using_subcommand mfa; and not __fish_seen_subcommand_from enroll status disable recovery-codes passkey" -l color -d 'When to use colour (NO_COLOR is honoured)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c imadm -n "__fish_imadm_using_subcommand mfa; and not __fish_seen_subcommand_from enroll status disable recovery-codes passkey" -l insecure-http -d 'Allow an http:// server URL, for a loopback address only'
complete -c imadm -n "__fish_imadm_using_subcommand mfa; and not __fish_seen_subcommand_from enroll status disable recovery-codes passkey" -l no-input -d 'Never prompt; fail with a hint instead (implied when stdin is not a terminal)'
complete -c imadm -n "__fish_imadm_using_subcommand mfa; and not __fish_seen_subcommand_from enroll status disable recovery-codes passkey" -s y -l yes -d 'Answer yes to confirmations'
complete -c imadm -n "__fish_imadm_using_subcommand mfa; and not __fish_seen_subcommand_from enroll status disable recovery-codes passkey" -s v -l verbose -d 'More diagnostics on stderr (repeat for more); never secrets'
complete -c imadm -n "__fish_imadm_using_subcommand mfa; and not __fish_seen_subcommand_from enroll status disable recovery-codes passkey" -s q -l quiet -d 'Fewer messages on stderr'
complete -c imadm -n "__fish_imadm_using_subcommand mfa; and not __fish_seen_subcommand_from enroll status disable recovery-codes passkey" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c imadm -n "__fish_imadm_using_subcommand mfa; and not __fish_seen_subcommand_from enroll status disable recovery-codes passkey" -s V -l version -d 'Print version'
complete -c imadm -n "__fish_imadm_using_subcommand mfa; and not __fish_seen_subcommand_from enroll status disable recovery-codes passkey" -f -a "enroll" -d 'Enrol a TOTP authenticator (QR code), get recovery codes'
complete -c imadm -n "__fish_imadm_using_subcommand mfa; and not __fish_seen_subcommand_from enroll status disable recovery-codes passkey" -f -a "status" -d 'Show whether MFA is enrolled and recovery codes left'
complete -c imadm -n "__fish_imadm_using_subcommand mfa; and not __fish_seen_subcommand_from enroll status disable recovery-codes passkey" -f -a "disable" -d 'Remove your TOTP authenticator (step-up MFA; never your last second factor)'
complete -c imadm -n "__fish_imadm_using_subcommand mfa; and not __fish_seen_subcommand_from enroll status disable recovery-codes passkey" -f -a "recovery-codes" -d 'Count recovery codes left, or --regenerate a new set (step-up MFA)'
complete -c imadm -n "__fish_imadm_using_subcommand mfa; and not __fish_seen_subcommand_from enroll status disable recovery-codes passkey" -f -a "passkey" -d 'Passkeys (fingerprint, face, PIN, security key) through the browser'
complete -c imadm -n "__fish_imadm_using_subcommand mfa; and __fish_seen_subcommand_from enroll" -l confirm -d 'Confirm a pending enrolment with this TOTP code' -r
complete -c imadm -n "__fish_imadm_using_subcommand mfa; and __fish_seen_subcommand_from enroll" -l profile -d 'Saved server profile to use' -r
complete -c imadm -n "__fish_imadm_using_subcommand mfa; and __fish_seen_subcommand_from enroll" -l server -d 'Admin API base URL (https only)' -r
complete -c imadm -n "__fish_imadm_using_subcommand mfa; and __fish_seen_subcommand_from enroll" -l app-id -d 'Lanying app id, sent as the `app_id` header' -r
complete -c imadm -n "__fish_imadm_using_subcommand mfa; and __fish_seen_subcommand_from enroll" -l ca-cert -d 'Extra PEM CA certificate to trust' -r -F
complete -c imadm -n "__fish_imadm_using_subcommand mfa; and __fish_seen_subcommand_from enroll" -s o -l output -d 'Output format [default: table on a terminal, tsv when piped]' -r -f -a "table\t''
json\t''
jsonl\t''
csv\t''
tsv\t''"
complete -c imadm -n "__fish_imadm_using_subcommand mfa; and __fish_seen_subcommand_from enroll" -l config-dir -d 'Directory holding profiles [default: XDG config dir imadm/]' -r -F
complete -c imadm -n "__fish_imadm_using_subcommand mfa; and __fish_seen_subcommand_from enroll" -l color -d 'When to use colour (NO_COLOR is honoured)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c imadm -n "__fish_imadm_using_subcommand mfa; and __fish_seen_subcommand_from enroll" -l insecure-http -d 'Allow an http:// server URL, for a loopback address only'
complete -c imadm -n "__fish_imadm_using_subcommand mfa; and __fish_seen_subcommand_from enroll" -l no-input -d 'Never prompt; fail with a hint instead (implied when stdin is not a terminal)'
complete -c imadm -n "__fish_imadm_using_subcommand mfa; and __fish_seen_subcommand_from enroll" -s y -l yes -d 'Answer yes to confirmations'
complete -c imadm -n "__fish_imadm_using_subcommand mfa; and __fish_seen_subcommand_from enroll" -s v -l verbose -d 'More diagnostics on stderr (repeat for more); never secrets'
complete -c imadm -n "__fish_imadm_using_subcommand mfa; and __fish_seen_subcommand_from enroll" -s q -l quiet -d 'Fewer messages on stderr'
complete -c imadm -n "__fish_imadm_using_subcommand mfa; and __fish_seen_subcommand_from enroll" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c imadm -n "__fish_imadm_using_subcommand mfa; and __fish_seen_subcommand_from enroll" -s V -l version -d 'Print version'
complete -c imadm -n "__fish_imadm_using_subcommand mfa; and __fish_seen_subcommand_from status" -l profile -d 'Saved server profile to use' -r
complete -c imadm -n "__fish_imadm_using_subcommand mfa; and __fish_seen_subcommand_from status" -l server -d 'Admin API base URL (https only)' -r
complete -c imadm -n "__fish_imadm_using_subcommand mfa; and __fish_seen_subcommand_from status" -l app-id -d 'Lanying app id, sent as the `app_id` header' -r
complete -c imadm -n "__fish_imadm_using_subcommand mfa; and __fish_seen_subcommand_from status" -l ca-cert -d 'Extra PEM CA certificate to trust' -r -F
complete -c imadm -n "__fish_imadm_using_subcommand mfa; and __fish_seen_subcommand_from status" -s o -l output -d 'Output format [default: table on a terminal, tsv when piped]' -r -f -a "table\t''
json\t''
jsonl\t''
csv\t''
tsv\t''"
complete -c imadm -n "__fish_imadm_using_subcommand mfa; and __fish_seen_subcommand_from status" -l config-dir -d 'Directory holding profiles [default: XDG config dir imadm/]' -r -F
complete -c imadm -n "__fish_imadm_using_subcommand mfa; and __fish_seen_subcommand_from status" -l color -d 'When to use colour (NO_COLOR is honoured)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c imadm -n "__fish_imadm_using_subcommand mfa; and __fish_seen_subcommand_from status" -l insecure-http -d 'Allow an http:// server URL, for a loopback address only'
complete -c imadm -n "__fish_imadm_using_subcommand mfa; and __fish_seen_subcommand_from status" -l no-input -d 'Never prompt; fail with a hint instead (implied when stdin is not a terminal)'
complete -c imadm -n "__fish_imadm_using_subcommand mfa; and __fish_seen_subcommand_from status" -s y -l yes -d 'Answer yes to confirmations'
complete -c imadm -n "__fish_imadm_using_subcommand mfa; and __fish_seen_subcommand_from status" -s v -l verbose -d 'More diagnostics on stderr (repeat for more); never secrets'
complete -c imadm -n "__fish_imadm_using_subcommand mfa; and __fish_seen_subcommand_from status" -s q -l quiet -d 'Fewer messages on stderr'
complete -c imadm -n "__fish_imadm_using_subcommand mfa; and __fish_seen_subcommand_from status" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c imadm -n "__fish_imadm_using_subcommand mfa; and __fish_seen_subcommand_from status" -s V -l version -d 'Print version'
complete -c imadm -n "__fish_imadm_using_subcommand mfa; and __fish_seen_subcommand_from disable" -l otp -d 'Current TOTP code for step-up (prompted if needed)' -r
complete -c imadm -n "__fish_imadm_using_subcommand mfa; and __fish_seen_subcommand_from disable" -l profile -d 'Saved server profile to use' -r
complete -c imadm -n "__fish_imadm_using_subcommand mfa; and __fish_seen_subcommand_from disable" -l server -d 'Admin API base URL (https only)' -r
complete -c imadm -n "__fish_imadm_using_subcommand mfa; and __fish_seen_subcommand_from disable" -l app-id -d 'Lanying app id, sent as the `app_id` header' -r
complete -c imadm -n "__fish_imadm_using_subcommand mfa; and __fish_seen_subcommand_from disable" -l ca-cert -d 'Extra PEM CA certificate to trust' -r -F
complete -c imadm -n "__fish_imadm_using_subcommand mfa; and __fish_seen_subcommand_from disable" -s o -l output -d 'Output format [default: table on a terminal, tsv when piped]' -r -f -a "table\t''
json\t''
jsonl\t''
csv\t''
tsv\t''"
complete -c imadm -n "__fish_imadm_using_subcommand mfa; and __fish_seen_subcommand_from disable" -l config-dir -d 'Directory holding profiles [default: XDG config dir imadm/]' -r -F
complete -c imadm -n "__fish_imadm_using_subcommand mfa; and __fish_seen_subcommand_from disable" -l color -d 'When to use colour (NO_COLOR is honoured)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c imadm -n "__fish_imadm_using_subcommand mfa; and __fish_seen_subcommand_from disable" -l insecure-http -d 'Allow an http:// server URL, for a loopback address only'
complete -c imadm -n "__fish_imadm_using_subcommand mfa; and __fish_seen_subcommand_from disable" -l no-input -d 'Never prompt; fail with a hint instead (implied when stdin is not a terminal)'
complete -c imadm -n "__fish_imadm_using_subcommand mfa; and __fish_seen_subcommand_from disable" -s y -l yes -d 'Answer yes to confirmations'
complete -c imadm -n "__fish_imadm_using_subcommand mfa; and __fish_seen_subcommand_from disable" -s v -l verbose -d 'More diagnostics on stderr (repeat for more); never secrets'
complete -c imadm -n "__fish_imadm_using_subcommand mfa; and __fish_seen_subcommand_from disable" -s q -l quiet -d 'Fewer messages on stderr'
complete -c imadm -n "__fish_imadm_using_subcommand mfa; and __fish_seen_subcommand_from disable" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c imadm -n "__fish_imadm_using_subcommand mfa; and __fish_seen_subcommand_from disable" -s V -l version -d 'Print version'
complete -c imadm -n "__fish_imadm_using_subcommand mfa; and __fish_seen_subcommand_from recovery-codes" -l otp -d 'Current TOTP code for step-up (prompted if needed)' -r
complete -c imadm -n "__fish_imadm_using_subcommand mfa; and __fish_seen_subcommand_from recovery-codes" -l profile -d 'Saved server profile to use' -r
complete -c imadm -n "__fish_imadm_using_subcommand mfa; and __fish_seen_subcommand_from recovery-codes" -l server -d 'Admin API base URL (https only)' -r
complete -c imadm -n "__fish_imadm_using_subcommand mfa; and __fish_seen_subcommand_from recovery-codes" -l app-id -d 'Lanying app id, sent as the `app_id` header' -r
complete -c imadm -n "__fish_imadm_using_subcommand mfa; and __fish_seen_subcommand_from recovery-codes" -l ca-cert -d 'Extra PEM CA certificate to trust' -r -F
complete -c imadm -n "__fish_imadm_using_subcommand mfa; and __fish_seen_subcommand_from recovery-codes" -s o -l output -d 'Output format [default: table on a terminal, tsv when piped]' -r -f -a "table\t''
json\t''
jsonl\t''
csv\t''
tsv\t''"
complete -c imadm -n "__fish_imadm_using_subcommand mfa; and __fish_seen_subcommand_from recovery-codes" -l config-dir -d 'Directory holding profiles [default: XDG config dir imadm/]' -r -F
complete -c imadm -n "__fish_imadm_using_subcommand mfa; and __fish_seen_subcommand_from recovery-codes" -l color -d 'When to use colour (NO_COLOR is honoured)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c imadm -n "__fish_imadm_using_subcommand mfa; and __fish_seen_subcommand_from recovery-codes" -l regenerate -d 'Replace all recovery codes with a new set (the old ones stop working)'
complete -c imadm -n "__fish_imadm_using_subcommand mfa; and __fish_seen_subcommand_from recovery-codes" -l insecure-http -d 'Allow an http:// server URL, for a loopback address only'
complete -c imadm -n "__fish_imadm_using_subcommand mfa; and __fish_seen_subcommand_from recovery-codes" -l no-input -d 'Never prompt; fail with a hint instead (implied when stdin is not a terminal)'
complete -c imadm -n "__fish_imadm_using_subcommand mfa; and __fish_seen_subcommand_from recovery-codes" -s y -l yes -d 'Answer yes to confirmations'
complete -c imadm -n "__fish_imadm_using_subcommand mfa; and __fish_seen_subcommand_from recovery-codes" -s v -l verbose -d 'More diagnostics on stderr (repeat for more); never secrets'
complete -c imadm -n "__fish_imadm_using_subcommand mfa; and __fish_seen_subcommand_from recovery-codes" -s q -l quiet -d 'Fewer messages on stderr'
complete -c imadm -n "__fish_imadm_using_subcommand mfa; and __fish_seen_subcommand_from recovery-codes" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c imadm -n "__fish_imadm_using_subcommand mfa; and __fish_seen_subcommand_from recovery-codes" -s V -l version -d 'Print version'
complete -c imadm -n "__fish_imadm_using_subcommand mfa; and __fish_seen_subcommand_from passkey" -l profile -d 'Saved server profile to use' -r
complete -c imadm -n "__fish_imadm_using_subcommand mfa; and __fish_seen_subcommand_from passkey" -l server -d 'Admin API base URL (https only)' -r
complete -c imadm -n "__fish_imadm_using_subcommand mfa; and __fish_seen_subcommand_from passkey" -l app-id -d 'Lanying app id, sent as the `app_id` header' -r
complete -c imadm -n "__fish_imadm_using_subcommand mfa; and __fish_seen_subcommand_from passkey" -l ca-cert -d 'Extra PEM CA certificate to trust' -r -F
complete -c imadm -n "__fish_imadm_using_subcommand mfa; and __fish_seen_subcommand_from passkey" -s o -l output -d 'Output format [default: table on a terminal, tsv when piped]' -r -f -a "table\t''
json\t''
jsonl\t''
csv\t''
tsv\t''"
complete -c imadm -n "__fish_imadm_using_subcommand mfa; and __fish_seen_subcommand_from passkey" -l config-dir -d 'Directory holding profiles [default: XDG config dir imadm/]' -r -F
complete -c imadm -n "__fish_imadm_using_subcommand mfa; and __fish_seen_subcommand_from passkey" -l color -d 'When to use colour (NO_COLOR is honoured)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c imadm -n "__fish_imadm_using_subcommand mfa; and __fish_seen_subcommand_from passkey" -l insecure-http -d 'Allow an http:// server URL, for a loopback address only'
complete -c imadm -n "__fish_imadm_using_subcommand mfa; and __fish_seen_subcommand_from passkey" -l no-input -d 'Never prompt; fail with a hint instead (implied when stdin is not a terminal)'
complete -c imadm -n "__fish_imadm_using_subcommand mfa; and __fish_seen_subcommand_from passkey" -s y -l yes -d 'Answer yes to confirmations'
complete -c imadm -n "__fish_imadm_using_subcommand mfa; and __fish_seen_subcommand_from passkey" -s v -l verbose -d 'More diagnostics on stderr (repeat for more); never secrets'
complete -c imadm -n "__fish_imadm_using_subcommand mfa; and __fish_seen_subcommand_from passkey" -s q -l quiet -d 'Fewer messages on stderr'
complete -c imadm -n "__fish_imadm_using_subcommand mfa; and __fish_seen_subcommand_from passkey" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c imadm -n "__fish_imadm_using_subcommand mfa; and __fish_seen_subcommand_from passkey" -s V -l version -d 'Print version'
complete -c imadm -n "__fish_imadm_using_subcommand mfa; and __fish_seen_subcommand_from passkey" -f -a "add" -d 'Enrol a passkey in the browser (prints or opens a one-time URL)'
complete -c imadm -n "__fish_imadm_using_subcommand mfa; and __fish_seen_subcommand_from passkey" -f -a "list" -d 'List your passkeys'
complete -c imadm -n "__fish_imadm_using_subcommand mfa; and __fish_seen_subcommand_from passkey" -f -a "remove" -d 'Remove one of your passkeys (step-up MFA; never the last second factor)'
complete -c imadm -n "__fish_imadm_using_subcommand user; and not __fish_seen_subcommand_from list show create import disable enable kick reset-password delete export erase" -l profile -d 'Saved server profile to use' -r
complete -c imadm -n "__fish_imadm_using_subcommand user; and not __fish_seen_subcommand_from list show create import disable enable kick reset-password delete export erase" -l server -d 'Admin API base URL (https only)' -r
complete -c imadm -n "__fish_imadm_using_subcommand user; and not __fish_seen_subcommand_from list show create import disable enable kick reset-password delete export erase" -l app-id -d 'Lanying app id, sent as the `app_id` header' -r
complete -c imadm -n "__fish_imadm_using_subcommand user; and not __fish_seen_subcommand_from list show create import disable enable kick reset-password delete export erase" -l ca-cert -d 'Extra PEM CA certificate to trust' -r -F
complete -c imadm -n "__fish_imadm_using_subcommand user; and not __fish_seen_subcommand_from list show create import disable enable kick reset-password delete export erase" -s o -l output -d 'Output format [default: table on a terminal, tsv when piped]' -r -f -a "table\t''
json\t''
jsonl\t''
csv\t''
tsv\t''"
complete -c imadm -n "__fish_imadm_using_subcommand user; and not __fish_seen_subcommand_from list show create import disable enable kick reset-password delete export erase" -l config-dir -d 'Directory holding profiles [default: XDG config dir imadm/]' -r -F
complete -c imadm -n "__fish_imadm_using_subcommand user; and not __fish_seen_subcommand_from list show create import disable enable kick reset-password delete export erase" -l color -d 'When to use colour (NO_COLOR is honoured)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c imadm -n "__fish_imadm_using_subcommand user; and not __fish_seen_subcommand_from list show create import disable enable kick reset-password delete export erase" -l insecure-http -d 'Allow an http:// server URL, for a loopback address only'
complete -c imadm -n "__fish_imadm_using_subcommand user; and not __fish_seen_subcommand_from list show create import disable enable kick reset-password delete export erase" -l no-input -d 'Never prompt; fail with a hint instead (implied when stdin is not a terminal)'
complete -c imadm -n "__fish_imadm_using_subcommand user; and not __fish_seen_subcommand_from list show create import disable enable kick reset-password delete export erase" -s y -l yes -d 'Answer yes to confirmations'
complete -c imadm -n "__fish_imadm_using_subcommand user; and not __fish_seen_subcommand_from list show create import disable enable kick reset-password delete export erase" -s v -l verbose -d 'More diagnostics on stderr (repeat for more); never secrets'
complete -c imadm -n "__fish_imadm_using_subcommand user; and not __fish_seen_subcommand_from list show create import disable enable kick reset-password delete export erase" -s q -l quiet -d 'Fewer messages on stderr'
complete -c imadm -n "__fish_imadm_using_subcommand user; and not __fish_seen_subcommand_from list show create import disable enable kick reset-password delete export erase" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c imadm -n "__fish_imadm_using_subcommand user; and not __fish_seen_subcommand_from list show create import disable enable kick reset-password delete export erase" -s V -l version -d 'Print version'
complete -c imadm -n "__fish_imadm_using_subcommand user; and not __fish_seen_subcommand_from list show create import disable enable kick reset-password delete export erase" -f -a "list" -d 'List IM users, streamed page by page'
complete -c imadm -n "__fish_imadm_using_subcommand user; and not __fish_seen_subcommand_from list show create import disable enable kick reset-password delete export erase" -f -a "show" -d 'Show one IM user'
complete -c imadm -n "__fish_imadm_using_subcommand user; and not __fish_seen_subcommand_from list show create import disable enable kick reset-password delete export erase" -f -a "create" -d 'Register an IM user'
complete -c imadm -n "__fish_imadm_using_subcommand user; and not __fish_seen_subcommand_from list show create import disable enable kick reset-password delete export erase" -f -a "import" -d 'Register IM users from a CSV file, one result per row'
complete -c imadm -n "__fish_imadm_using_subcommand user; and not __fish_seen_subcommand_from list show create import disable enable kick reset-password delete export erase" -f -a "disable" -d 'Ban IM users'
complete -c imadm -n "__fish_imadm_using_subcommand user; and not __fish_seen_subcommand_from list show create import disable enable kick reset-password delete export erase" -f -a "enable" -d 'Lift a ban'
complete -c imadm -n "__fish_imadm_using_subcommand user; and not __fish_seen_subcommand_from list show create import disable enable kick reset-password delete export erase" -f -a "kick" -d 'Log all of a user\'s devices out'
complete -c imadm -n "__fish_imadm_using_subcommand user; and not __fish_seen_subcommand_from list show create import disable enable kick reset-password delete export erase" -f -a "reset-password" -d 'Set a new password for an IM user'
complete -c imadm -n "__fish_imadm_using_subcommand user; and not __fish_seen_subcommand_from list show create import disable enable kick reset-password delete export erase" -f -a "delete" -d 'Delete IM users (step-up MFA, confirmation)'
complete -c imadm -n "__fish_imadm_using_subcommand user; and not __fish_seen_subcommand_from list show create import disable enable kick reset-password delete export erase" -f -a "export" -d 'Export everything held about an IM user, age-encrypted (GDPR art. 15)'
complete -c imadm -n "__fish_imadm_using_subcommand user; and not __fish_seen_subcommand_from list show create import disable enable kick reset-password delete export erase" -f -a "erase" -d 'Erase an IM user\'s personal data (GDPR art. 17; step-up MFA, confirmation)'
complete -c imadm -n "__fish_imadm_using_subcommand user; and __fish_seen_subcommand_from list" -l limit -d 'At most N users in total' -r
complete -c imadm -n "__fish_imadm_using_subcommand user; and __fish_seen_subcommand_from list" -l status -d 'Only users in this state' -r -f -a "active\t''
disabled\t''"
complete -c imadm -n "__fish_imadm_using_subcommand user; and __fish_seen_subcommand_from list" -l profile -d 'Saved server profile to use' -r
complete -c imadm -n "__fish_imadm_using_subcommand user; and __fish_seen_subcommand_from list" -l server -d 'Admin API base URL (https only)' -r
complete -c imadm -n "__fish_imadm_using_subcommand user; and __fish_seen_subcommand_from list" -l app-id -d 'Lanying app id, sent as the `app_id` header' -r
complete -c imadm -n "__fish_imadm_using_subcommand user; and __fish_seen_subcommand_from list" -l ca-cert -d 'Extra PEM CA certificate to trust' -r -F
complete -c imadm -n "__fish_imadm_using_subcommand user; and __fish_seen_subcommand_from list" -s o -l output -d 'Output format [default: table on a terminal, tsv when piped]' -r -f -a "table\t''
json\t''
jsonl\t''
csv\t''
tsv\t''"
complete -c imadm -n "__fish_imadm_using_subcommand user; and __fish_seen_subcommand_from list" -l config-dir -d 'Directory holding profiles [default: XDG config dir imadm/]' -r -F
complete -c imadm -n "__fish_imadm_using_subcommand user; and __fish_seen_subcommand_from list" -l color -d 'When to use colour (NO_COLOR is honoured)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c imadm -n "__fish_imadm_using_subcommand user; and __fish_seen_subcommand_from list" -l all -d 'Every user, page by page (with --limit: at most N)'
complete -c imadm -n "__fish_imadm_using_subcommand user; and __fish_seen_subcommand_from list" -l insecure-http -d 'Allow an http:// server URL, for a loopback address only'
complete -c imadm -n "__fish_imadm_using_subcommand user; and __fish_seen_subcommand_from list" -l no-input -d 'Never prompt; fail with a hint instead (implied when stdin is not a terminal)'
complete -c imadm -n "__fish_imadm_using_subcommand user; and __fish_seen_subcommand_from list" -s y -l yes -d 'Answer yes to confirmations'
complete -c imadm -n "__fish_imadm_using_subcommand user; and __fish_seen_subcommand_from list" -s v -l verbose -d 'More diagnostics on stderr (repeat for more); never secrets'
complete -c imadm -n "__fish_imadm_using_subcommand user; and __fish_seen_subcommand_from list" -s q -l quiet -d 'Fewer messages on stderr'
complete -c imadm -n "__fish_imadm_using_subcommand user; and __fish_seen_subcommand_from list" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c imadm -n "__fish_imadm_using_subcommand user; and __fish_seen_subcommand_from list" -s V -l version -d 'Print version'
complete -c imadm -n "__fish_imadm_using_subcommand user; and __fish_seen_subcommand_from show" -l profile -d 'Saved server profile to use' -r
complete -c imadm -n "__fish_imadm_using_subcommand user; and __fish_seen_subcommand_from show" -l server -d 'Admin API base URL (https only)' -r
complete -c imadm -n "__fish_imadm_using_subcommand user; and __fish_seen_subcommand_from show" -l app-id -d 'Lanying app id, sent as the `app_id` header' -r
complete -c imadm -n "__fish_imadm_using_subcommand user; and __fish_seen_subcommand_from show" -l ca-cert -d 'Extra PEM CA certificate to trust' -r -F
complete -c imadm -n "__fish_imadm_using_subcommand user; and __fish_seen_subcommand_from show" -s o -l output -d 'Output format [default: table on a terminal, tsv when piped]' -r -f -a "table\t''
json\t''
jsonl\t''
csv\t''
tsv\t''"
complete -c imadm -n "__fish_imadm_using_subcommand user; and __fish_seen_subcommand_from show" -l config-dir -d 'Directory holding profiles [default: XDG config dir imadm/]' -r -F
complete -c imadm -n "__fish_imadm_using_subcommand user; and __fish_seen_subcommand_from show" -l color -d 'When to use colour (NO_COLOR is honoured)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c imadm -n "__fish_imadm_using_subcommand user; and __fish_seen_subcommand_from show" -l insecure-http -d 'Allow an http:// server URL, for a loopback address only'
complete -c imadm -n "__fish_imadm_using_subcommand user; and __fish_seen_subcommand_from show" -l no-input -d 'Never prompt; fail with a hint instead (implied when stdin is not a terminal)'
complete -c imadm -n "__fish_imadm_using_subcommand user; and __fish_seen_subcommand_from show" -s y -l yes -d 'Answer yes to confirmations'
complete -c imadm -n "__fish_imadm_using_subcommand user; and __fish_seen_subcommand_from show" -s v -l verbose -d 'More diagnostics on stderr (repeat for more); never secrets'
complete -c imadm -n "__fish_imadm_using_subcommand user; and __fish_seen_subcommand_from show" -s q -l quiet -d 'Fewer messages on stderr'
complete -c imadm -n "__fish_imadm_using_subcommand user; and __fish_seen_subcommand_from show" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c imadm -n "__fish_imadm_using_subcommand user; and __fish_seen_subcommand_from show" -s V -l version -d 'Print version'
complete -c imadm -n "__fish_imadm_using_subcommand user; and __fish_seen_subcommand_from create" -l nick-name -d 'Nickname (stored encrypted)' -r
complete -c imadm -n "__fish_imadm_using_subcommand user; and __fish_seen_subcommand_from create" -l email -d 'Email address (stored encrypted)' -r
complete -c imadm -n "__fish_imadm_using_subcommand user; and __fish_seen_subcommand_from create" -l mobile -d 'Mobile number (stored encrypted)' -r
complete -c imadm -n "__fish_imadm_using_subcommand user; and __fish_seen_subcommand_from create" -l profile -d 'Saved server profile to use' -r
complete -c imadm -n "__fish_imadm_using_subcommand user; and __fish_seen_subcommand_from create" -l server -d 'Admin API base URL (https only)' -r
complete -c imadm -n "__fish_imadm_using_subcommand user; and __fish_seen_subcommand_from create" -l app-id -d 'Lanying app id, sent as the `app_id` header' -r
complete -c imadm -n "__fish_imadm_using_subcommand user; and __fish_seen_subcommand_from create" -l ca-cert -d 'Extra PEM CA certificate to trust' -r -F
complete -c imadm -n "__fish_imadm_using_subcommand user; and __fish_seen_subcommand_from create" -s o -l output -d 'Output format [default: table on a terminal, tsv when piped]' -r -f -a "table\t''
json\t''
jsonl\t''
csv\t''
tsv\t''"
complete -c imadm -n "__fish_imadm_using_subcommand user; and __fish_seen_subcommand_from create" -l config-dir -d 'Directory holding profiles [default: XDG config dir imadm/]' -r -F
complete -c imadm -n "__fish_imadm_using_subcommand user; and __fish_seen_subcommand_from create" -l color -d 'When to use colour (NO_COLOR is honoured)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c imadm -n "__fish_imadm_using_subcommand user; and __fish_seen_subcommand_from create" -l password-stdin -d 'Read the password from standard input'
complete -c imadm -n "__fish_imadm_using_subcommand user; and __fish_seen_subcommand_from create" -l insecure-http -d 'Allow an http:// server URL, for a loopback address only'
complete -c imadm -n "__fish_imadm_using_subcommand user; and __fish_seen_subcommand_from create" -l no-input -d 'Never prompt; fail with a hint instead (implied when stdin is not a terminal)'
complete -c imadm -n "__fish_imadm_using_subcommand user; and __fish_seen_subcommand_from create" -s y -l yes -d 'Answer yes to confirmations'
complete -c imadm -n "__fish_imadm_using_subcommand user; and __fish_seen_subcommand_from create" -s v -l verbose -d 'More diagnostics on stderr (repeat for more); never secrets'
complete -c imadm -n "__fish_imadm_using_subcommand user; and __fish_seen_subcommand_from create" -s q -l quiet -d 'Fewer messages on stderr'
complete -c imadm -n "__fish_imadm_using_subcommand user; and __fish_seen_subcommand_from create" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c imadm -n "__fish_imadm_using_subcommand user; and __fish_seen_subcommand_from create" -s V -l version -d 'Print version'
complete -c imadm -n "__fish_imadm_using_subcommand user; and __fish_seen_subcommand_from import" -l profile -d 'Saved server profile to use' -r
complete -c imadm -n "__fish_imadm_using_subcommand user; and __fish_seen_subcommand_from import" -l server -d 'Admin API base URL (https only)' -r
complete -c imadm -n "__fish_imadm_using_subcommand user; and __fish_seen_subcommand_from import" -l app-id -d 'Lanying app id, sent as the `app_id` header' -r
complete -c imadm -n "__fish_imadm_using_subcommand user; and __fish_seen_subcommand_from import" -l ca-cert -d 'Extra PEM CA certificate to trust' -r -F
complete -c imadm -n "__fish_imadm_using_subcommand user; and __fish_seen_subcommand_from import" -s o -l output -d 'Output format [default: table on a terminal, tsv when piped]' -r -f -a "table\t''
json\t''
jsonl\t''
csv\t''
tsv\t''"
complete -c imadm -n "__fish_imadm_using_subcommand user; and __fish_seen_subcommand_from import" -l config-dir -d 'Directory holding profiles [default: XDG config dir imadm/]' -r -F
complete -c imadm -n "__fish_imadm_using_subcommand user; and __fish_seen_subcommand_from import" -l color -d 'When to use colour (NO_COLOR is honoured)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c imadm -n "__fish_imadm_using_subcommand user; and __fish_seen_subcommand_from import" -l insecure-http -d 'Allow an http:// server URL, for a loopback address only'
complete -c imadm -n "__fish_imadm_using_subcommand user; and __fish_seen_subcommand_from import" -l no-input -d 'Never prompt; fail with a hint instead (implied when stdin is not a terminal)'
complete -c imadm -n "__fish_imadm_using_subcommand user; and __fish_seen_subcommand_from import" -s y -l yes -d 'Answer yes to confirmations'
complete -c imadm -n "__fish_imadm_using_subcommand user; and __fish_seen_subcommand_from import" -s v -l verbose -d 'More diagnostics on stderr (repeat for more); never secrets'
complete -c imadm -n "__fish_imadm_using_subcommand user; and __fish_seen_subcommand_from import" -s q -l quiet -d 'Fewer messages on stderr'
complete -c imadm -n "__fish_imadm_using_subcommand user; and __fish_seen_subcommand_from import" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c imadm -n "__fish_imadm_using_subcommand user; and __fish_seen_subcommand_from import" -s V -l version -d 'Print version'
complete -c imadm -n "__fish_imadm_using_subcommand user; and __fish_seen_subcommand_from disable" -l profile -d 'Saved server profile to use' -r
complete -c imadm -n "__fish_imadm_using_subcommand user; and __fish_seen_subcommand_from disable" -l server -d 'Admin API base URL (https only)' -r
complete -c imadm -n "__fish_imadm_using_subcommand user; and __fish_seen_subcommand_from disable" -l app-id -d 'Lanying app id, sent as the `app_id` header' -r
complete -c imadm -n "__fish_imadm_using_subcommand user; and __fish_seen_subcommand_from disable" -l ca-cert -d 'Extra PEM CA certificate to trust' -r -F
complete -c imadm -n "__fish_imadm_using_subcommand user; and __fish_seen_subcommand_from disable" -s o -l output -d 'Output format [default: table on a terminal, tsv when piped]' -r -f -a "table\t''
json\t''
jsonl\t''
csv\t''
tsv\t''"
complete -c imadm -n "__fish_imadm_using_subcommand user; and __fish_seen_subcommand_from disable" -l config-dir -d 'Directory holding profiles [default: XDG config dir imadm/]' -r -F
complete -c imadm -n "__fish_imadm_using_subcommand user; and __fish_seen_subcommand_from disable" -l color -d 'When to use colour (NO_COLOR is honoured)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c imadm -n "__fish_imadm_using_subcommand user; and __fish_seen_subcommand_from disable" -l insecure-http -d 'Allow an http:// server URL, for a loopback address only'
complete -c imadm -n "__fish_imadm_using_subcommand user; and __fish_seen_subcommand_from disable" -l no-input -d 'Never prompt; fail with a hint instead (implied when stdin is not a terminal)'
complete -c imadm -n "__fish_imadm_using_subcommand user; and __fish_seen_subcommand_from disable" -s y -l yes -d 'Answer yes to confirmations'
complete -c imadm -n "__fish_imadm_using_subcommand user; and __fish_seen_subcommand_from disable" -s v -l verbose -d 'More diagnostics on stderr (repeat for more); never secrets'
complete -c imadm -n "__fish_imadm_using_subcommand user; and __fish_seen_subcommand_from disable" -s q -l quiet -d 'Fewer messages on stderr'
complete -c imadm -n "__fish_imadm_using_subcommand user; and __fish_seen_subcommand_from disable" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c imadm -n "__fish_imadm_using_subcommand user; and __fish_seen_subcommand_from disable" -s V -l version -d 'Print version'
complete -c imadm -n "__fish_imadm_using_subcommand user; and __fish_seen_subcommand_from enable" -l profile -d 'Saved server profile to use' -r
complete -c imadm -n "__fish_imadm_using_subcommand user; and __fish_seen_subcommand_from enable" -l server -d 'Admin API base URL (https only)' -r
complete -c imadm -n "__fish_imadm_using_subcommand user; and __fish_seen_subcommand_from enable" -l app-id -d 'Lanying app id, sent as the `app_id` header' -r
complete -c imadm -n "__fish_imadm_using_subcommand user; and __fish_seen_subcommand_from enable" -l ca-cert -d 'Extra PEM CA certificate to trust' -r -F
complete -c imadm -n "__fish_imadm_using_subcommand user; and __fish_seen_subcommand_from enable" -s o -l output -d 'Output format [default: table on a terminal, tsv when piped]' -r -f -a "table\t''
json\t''
jsonl\t''
csv\t''
tsv\t''"
complete -c imadm -n "__fish_imadm_using_subcommand user; and __fish_seen_subcommand_from enable" -l config-dir -d 'Directory holding profiles [default: XDG config dir imadm/]' -r -F
complete -c imadm -n "__fish_imadm_using_subcommand user; and __fish_seen_subcommand_from enable" -l color -d 'When to use colour (NO_COLOR is honoured)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c imadm -n "__fish_imadm_using_subcommand user; and __fish_seen_subcommand_from enable" -l insecure-http -d 'Allow an http:// server URL, for a loopback address only'
complete -c imadm -n "__fish_imadm_using_subcommand user; and __fish_seen_subcommand_from enable" -l no-input -d 'Never prompt; fail with a hint instead (implied when stdin is not a terminal)'
complete -c imadm -n "__fish_imadm_using_subcommand user; and __fish_seen_subcommand_from enable" -s y -l yes -d 'Answer yes to confirmations'
complete -c imadm -n "__fish_imadm_using_subcommand user; and __fish_seen_subcommand_from enable" -s v -l verbose -d 'More diagnostics on stderr (repeat for more); never secrets'
complete -c imadm -n "__fish_imadm_using_subcommand user; and __fish_seen_subcommand_from enable" -s q -l quiet -d 'Fewer messages on stderr'
complete -c imadm -n "__fish_imadm_using_subcommand user; and __fish_seen_subcommand_from enable" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c imadm -n "__fish_imadm_using_subcommand user; and __fish_seen_subcommand_from enable" -s V -l version -d 'Print version'
complete -c imadm -n "__fish_imadm_using_subcommand user; and __fish_seen_subcommand_from kick" -l profile -d 'Saved server profile to use' -r
complete -c imadm -n "__fish_imadm_using_subcommand user; and __fish_seen_subcommand_from kick" -l server -d 'Admin API base URL (https only)' -r
complete -c imadm -n "__fish_imadm_using_subcommand user; and __fish_seen_subcommand_from kick" -l app-id -d 'Lanying app id, sent as the `app_id` header' -r
complete -c imadm -n "__fish_imadm_using_subcommand user; and __fish_seen_subcommand_from kick" -l ca-cert -d 'Extra PEM CA certificate to trust' -r -F
complete -c imadm -n "__fish_imadm_using_subcommand user; and __fish_seen_subcommand_from kick" -s o -l output -d 'Output format [default: table on a terminal, tsv when piped]' -r -f -a "table\t''
json\t''
jsonl\t''
csv\t''
tsv\t''"
complete -c imadm -n "__fish_imadm_using_subcommand user; and __fish_seen_subcommand_from kick" -l config-dir -d 'Directory holding profiles [default: XDG config dir imadm/]' -r -F
complete -c imadm -n "__fish_imadm_using_subcommand user; and __fish_seen_subcommand_from kick" -l color -d 'When to use colour (NO_COLOR is honoured)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c imadm -n "__fish_imadm_using_subcommand user; and __fish_seen_subcommand_from kick" -l insecure-http -d 'Allow an http:// server URL, for a loopback address only'
complete -c imadm -n "__fish_imadm_using_subcommand user; and __fish_seen_subcommand_from kick" -l no-input -d 'Never prompt; fail with a hint instead (implied when stdin is not a terminal)'
complete -c imadm -n "__fish_imadm_using_subcommand user; and __fish_seen_subcommand_from kick" -s y -l yes -d 'Answer yes to confirmations'
complete -c imadm -n "__fish_imadm_using_subcommand user; and __fish_seen_subcommand_from kick" -s v -l verbose -d 'More diagnostics on stderr (repeat for more); never secrets'
complete -c imadm -n "__fish_imadm_using_subcommand user; and __fish_seen_subcommand_from kick" -s q -l quiet -d 'Fewer messages on stderr'
complete -c imadm -n "__fish_imadm_using_subcommand user; and __fish_seen_subcommand_from kick" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c imadm -n "__fish_imadm_using_subcommand user; and __fish_seen_subcommand_from kick" -s V -l version -d 'Print version'
complete -c imadm -n "__fish_imadm_using_subcommand user; and __fish_seen_subcommand_from reset-password" -l profile -d 'Saved server profile to use' -r
complete -c imadm -n "__fish_imadm_using_subcommand user; and __fish_seen_subcommand_from reset-password" -l server -d 'Admin API base URL (https only)' -r
complete -c imadm -n "__fish_imadm_using_subcommand user; and __fish_seen_subcommand_from reset-password" -l app-id -d 'Lanying app id, sent as the `app_id` header' -r
complete -c imadm -n "__fish_imadm_using_subcommand user; and __fish_seen_subcommand_from reset-password" -l ca-cert -d 'Extra PEM CA certificate to trust' -r -F
complete -c imadm -n "__fish_imadm_using_subcommand user; and __fish_seen_subcommand_from reset-password" -s o -l output -d 'Output format [default: table on a terminal, tsv when piped]' -r -f -a "table\t''
json\t''
jsonl\t''
csv\t''
tsv\t''"
complete -c imadm -n "__fish_imadm_using_subcommand user; and __fish_seen_subcommand_from reset-password" -l config-dir -d 'Directory holding profiles [default: XDG config dir imadm/]' -r -F
complete -c imadm -n "__fish_imadm_using_subcommand user; and __fish_seen_subcommand_from reset-password" -l color -d 'When to use colour (NO_COLOR is honoured)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c imadm -n "__fish_imadm_using_subcommand user; and __fish_seen_subcommand_from reset-password" -l password-stdin -d 'Read the new password from standard input'
complete -c imadm -n "__fish_imadm_using_subcommand user; and __fish_seen_subcommand_from reset-password" -l insecure-http -d 'Allow an http:// server URL, for a loopback address only'
complete -c imadm -n "__fish_imadm_using_subcommand user; and __fish_seen_subcommand_from reset-password" -l no-input -d 'Never prompt; fail with a hint instead (implied when stdin is not a terminal)'
complete -c imadm -n "__fish_imadm_using_subcommand user; and __fish_seen_subcommand_from reset-password" -s y -l yes -d 'Answer yes to confirmations'
complete -c imadm -n "__fish_imadm_using_subcommand user; and __fish_seen_subcommand_from reset-password" -s v -l verbose -d 'More diagnostics on stderr (repeat for more); never secrets'
complete -c imadm -n "__fish_imadm_using_subcommand user; and __fish_seen_subcommand_from reset-password" -s q -l quiet -d 'Fewer messages on stderr'
complete -c imadm -n "__fish_imadm_using_subcommand user; and __fish_seen_subcommand_from reset-password" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c imadm -n "__fish_imadm_using_subcommand user; and __fish_seen_subcommand_from reset-password" -s V -l version -d 'Print version'
complete -c imadm -n "__fish_imadm_using_subcommand user; and __fish_seen_subcommand_from delete" -l otp -d 'Current TOTP code for step-up MFA (prompted if needed); prefer IMADM_OTP in scripts' -r
complete -c imadm -n "__fish_imadm_using_subcommand user; and __fish_seen_subcommand_from delete" -l profile -d 'Saved server profile to use' -r
complete -c imadm -n "__fish_imadm_using_subcommand user; and __fish_seen_subcommand_from delete" -l server -d 'Admin API base URL (https only)' -r
complete -c imadm -n "__fish_imadm_using_subcommand user; and __fish_seen_subcommand_from delete" -l app-id -d 'Lanying app id, sent as the `app_id` header' -r
complete -c imadm -n "__fish_imadm_using_subcommand user; and __fish_seen_subcommand_from delete" -l ca-cert -d 'Extra PEM CA certificate to trust' -r -F
complete -c imadm -n "__fish_imadm_using_subcommand user; and __fish_seen_subcommand_from delete" -s o -l output -d 'Output format [default: table on a terminal, tsv when piped]' -r -f -a "table\t''
json\t''
jsonl\t''
csv\t''
tsv\t''"
complete -c imadm -n "__fish_imadm_using_subcommand user; and __fish_seen_subcommand_from delete" -l config-dir -d 'Directory holding profiles [default: XDG config dir imadm/]' -r -F
complete -c imadm -n "__fish_imadm_using_subcommand user; and __fish_seen_subcommand_from delete" -l color -d 'When to use colour (NO_COLOR is honoured)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c imadm -n "__fish_imadm_using_subcommand user; and __fish_seen_subcommand_from delete" -l web -d 'Approve with a passkey in the browser instead of a TOTP code (prints the URL; opens it when there is a display)'
complete -c imadm -n "__fish_imadm_using_subcommand user; and __fish_seen_subcommand_from delete" -l insecure-http -d 'Allow an http:// server URL, for a loopback address only'
complete -c imadm -n "__fish_imadm_using_subcommand user; and __fish_seen_subcommand_from delete" -l no-input -d 'Never prompt; fail with a hint instead (implied when stdin is not a terminal)'
complete -c imadm -n "__fish_imadm_using_subcommand user; and __fish_seen_subcommand_from delete" -s y -l yes -d 'Answer yes to confirmations'
complete -c imadm -n "__fish_imadm_using_subcommand user; and __fish_seen_subcommand_from delete" -s v -l verbose -d 'More diagnostics on stderr (repeat for more); never secrets'
complete -c imadm -n "__fish_imadm_using_subcommand user; and __fish_seen_subcommand_from delete" -s q -l quiet -d 'Fewer messages on stderr'
complete -c imadm -n "__fish_imadm_using_subcommand user; and __fish_seen_subcommand_from delete" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c imadm -n "__fish_imadm_using_subcommand user; and __fish_seen_subcommand_from delete" -s V -l version -d 'Print version'
complete -c imadm -n "__fish_imadm_using_subcommand user; and __fish_seen_subcommand_from export" -s r -l recipient -d 'age recipient (age1...) or SSH public key (ssh-ed25519/ssh-rsa ...); repeatable' -r
complete -c imadm -n "__fish_imadm_using_subcommand user; and __fish_seen_subcommand_from export" -s R -l recipients-file -d 'File with one recipient per line (# comments allowed)' -r -F
complete -c imadm -n "__fish_imadm_using_subcommand user; and __fish_seen_subcommand_from export" -l out -d 'File to write (atomically, mode 0600)' -r -F
complete -c imadm -n "__fish_imadm_using_subcommand user; and __fish_seen_subcommand_from export" -l profile -d 'Saved server profile to use' -r
complete -c imadm -n "__fish_imadm_using_subcommand user; and __fish_seen_subcommand_from export" -l server -d 'Admin API base URL (https only)' -r
complete -c imadm -n "__fish_imadm_using_subcommand user; and __fish_seen_subcommand_from export" -l app-id -d 'Lanying app id, sent as the `app_id` header' -r
complete -c imadm -n "__fish_imadm_using_subcommand user; and __fish_seen_subcommand_from export" -l ca-cert -d 'Extra PEM CA certificate to trust' -r -F
complete -c imadm -n "__fish_imadm_using_subcommand user; and __fish_seen_subcommand_from export" -s o -l output -d 'Output format [default: table on a terminal, tsv when piped]' -r -f -a "table\t''
json\t''
jsonl\t''
csv\t''
tsv\t''"
complete -c imadm -n "__fish_imadm_using_subcommand user; and __fish_seen_subcommand_from export" -l config-dir -d 'Directory holding profiles [default: XDG config dir imadm/]' -r -F
complete -c imadm -n "__fish_imadm_using_subcommand user; and __fish_seen_subcommand_from export" -l color -d 'When to use colour (NO_COLOR is honoured)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c imadm -n "__fish_imadm_using_subcommand user; and __fish_seen_subcommand_from export" -l insecure-http -d 'Allow an http:// server URL, for a loopback address only'
complete -c imadm -n "__fish_imadm_using_subcommand user; and __fish_seen_subcommand_from export" -l no-input -d 'Never prompt; fail with a hint instead (implied when stdin is not a terminal)'
complete -c imadm -n "__fish_imadm_using_subcommand user; and __fish_seen_subcommand_from export" -s y -l yes -d 'Answer yes to confirmations'
complete -c imadm -n "__fish_imadm_using_subcommand user; and __fish_seen_subcommand_from export" -s v -l verbose -d 'More diagnostics on stderr (repeat for more); never secrets'
complete -c imadm -n "__fish_imadm_using_subcommand user; and __fish_seen_subcommand_from export" -s q -l quiet -d 'Fewer messages on stderr'
complete -c imadm -n "__fish_imadm_using_subcommand user; and __fish_seen_subcommand_from export" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c imadm -n "__fish_imadm_using_subcommand user; and __fish_seen_subcommand_from export" -s V -l version -d 'Print version'
complete -c imadm -n "__fish_imadm_using_subcommand user; and __fish_seen_subcommand_from erase" -l otp -d 'Current TOTP code for step-up (prompted if needed)' -r
complete -c imadm -n "__fish_imadm_using_subcommand user; and __fish_seen_subcommand_from erase" -l profile -d 'Saved server profile to use' -r
complete -c imadm -n "__fish_imadm_using_subcommand user; and __fish_seen_subcommand_from erase" -l server -d 'Admin API base URL (https only)' -r
complete -c imadm -n "__fish_imadm_using_subcommand user; and __fish_seen_subcommand_from erase" -l app-id -d 'Lanying app id, sent as the `app_id` header' -r
complete -c imadm -n "__fish_imadm_using_subcommand user; and __fish_seen_subcommand_from erase" -l ca-cert -d 'Extra PEM CA certificate to trust' -r -F
complete -c imadm -n "__fish_imadm_using_subcommand user; and __fish_seen_subcommand_from erase" -s o -l output -d 'Output format [default: table on a terminal, tsv when piped]' -r -f -a "table\t''
json\t''
jsonl\t''
csv\t''
tsv\t''"
complete -c imadm -n "__fish_imadm_using_subcommand user; and __fish_seen_subcommand_from erase" -l config-dir -d 'Directory holding profiles [default: XDG config dir imadm/]' -r -F
complete -c imadm -n "__fish_imadm_using_subcommand user; and __fish_seen_subcommand_from erase" -l color -d 'When to use colour (NO_COLOR is honoured)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c imadm -n "__fish_imadm_using_subcommand user; and __fish_seen_subcommand_from erase" -l insecure-http -d 'Allow an http:// server URL, for a loopback address only'
complete -c imadm -n "__fish_imadm_using_subcommand user; and __fish_seen_subcommand_from erase" -l no-input -d 'Never prompt; fail with a hint instead (implied when stdin is not a terminal)'
complete -c imadm -n "__fish_imadm_using_subcommand user; and __fish_seen_subcommand_from erase" -s y -l yes -d 'Answer yes to confirmations'
complete -c imadm -n "__fish_imadm_using_subcommand user; and __fish_seen_subcommand_from erase" -s v -l verbose -d 'More diagnostics on stderr (repeat for more); never secrets'
complete -c imadm -n "__fish_imadm_using_subcommand user; and __fish_seen_subcommand_from erase" -s q -l quiet -d 'Fewer messages on stderr'
complete -c imadm -n "__fish_imadm_using_subcommand user; and __fish_seen_subcommand_from erase" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c imadm -n "__fish_imadm_using_subcommand user; and __fish_seen_subcommand_from erase" -s V -l version -d 'Print version'
complete -c imadm -n "__fish_imadm_using_subcommand operator; and not __fish_seen_subcommand_from list show create disable enable delete grant revoke reset-mfa reset-password" -l profile -d 'Saved server profile to use' -r
complete -c imadm -n "__fish_imadm_using_subcommand operator; and not __fish_seen_subcommand_from list show create disable enable delete grant revoke reset-mfa reset-password" -l server -d 'Admin API base URL (https only)' -r
complete -c imadm -n "__fish_imadm_using_subcommand operator; and not __fish_seen_subcommand_from list show create disable enable delete grant revoke reset-mfa reset-password" -l app-id -d 'Lanying app id, sent as the `app_id` header' -r
complete -c imadm -n "__fish_imadm_using_subcommand operator; and not __fish_seen_subcommand_from list show create disable enable delete grant revoke reset-mfa reset-password" -l ca-cert -d 'Extra PEM CA certificate to trust' -r -F
complete -c imadm -n "__fish_imadm_using_subcommand operator; and not __fish_seen_subcommand_from list show create disable enable delete grant revoke reset-mfa reset-password" -s o -l output -d 'Output format [default: table on a terminal, tsv when piped]' -r -f -a "table\t''
json\t''
jsonl\t''
csv\t''
tsv\t''"
complete -c imadm -n "__fish_imadm_using_subcommand operator; and not __fish_seen_subcommand_from list show create disable enable delete grant revoke reset-mfa reset-password" -l config-dir -d 'Directory holding profiles [default: XDG config dir imadm/]' -r -F
complete -c imadm -n "__fish_imadm_using_subcommand operator; and not __fish_seen_subcommand_from list show create disable enable delete grant revoke reset-mfa reset-password" -l color -d 'When to use colour (NO_COLOR is honoured)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c imadm -n "__fish_imadm_using_subcommand operator; and not __fish_seen_subcommand_from list show create disable enable delete grant revoke reset-mfa reset-password" -l insecure-http -d 'Allow an http:// server URL, for a loopback address only'
complete -c imadm -n "__fish_imadm_using_subcommand operator; and not __fish_seen_subcommand_from list show create disable enable delete grant revoke reset-mfa reset-password" -l no-input -d 'Never prompt; fail with a hint instead (implied when stdin is not a terminal)'
complete -c imadm -n "__fish_imadm_using_subcommand operator; and not __fish_seen_subcommand_from list show create disable enable delete grant revoke reset-mfa reset-password" -s y -l yes -d 'Answer yes to confirmations'
complete -c imadm -n "__fish_imadm_using_subcommand operator; and not __fish_seen_subcommand_from list show create disable enable delete grant revoke reset-mfa reset-password" -s v -l verbose -d 'More diagnostics on stderr (repeat for more); never secrets'
complete -c imadm -n "__fish_imadm_using_subcommand operator; and not __fish_seen_subcommand_from list show create disable enable delete grant revoke reset-mfa reset-password" -s q -l quiet -d 'Fewer messages on stderr'
complete -c imadm -n "__fish_imadm_using_subcommand operator; and not __fish_seen_subcommand_from list show create disable enable delete grant revoke reset-mfa reset-password" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c imadm -n "__fish_imadm_using_subcommand operator; and not __fish_seen_subcommand_from list show create disable enable delete grant revoke reset-mfa reset-password" -s V -l version -d 'Print version'
complete -c imadm -n "__fish_imadm_using_subcommand operator; and not __fish_seen_subcommand_from list show create disable enable delete grant revoke reset-mfa reset-password" -f -a "list" -d 'List operators with their roles and MFA state'
complete -c imadm -n "__fish_imadm_using_subcommand operator; and not __fish_seen_subcommand_from list show create disable enable delete grant revoke reset-mfa reset-password" -f -a "show" -d 'Show one operator'
complete -c imadm -n "__fish_imadm_using_subcommand operator; and not __fish_seen_subcommand_from list show create disable enable delete grant revoke reset-mfa reset-password" -f -a "create" -d 'Create an operator with a one-time password (step-up MFA)'
complete -c imadm -n "__fish_imadm_using_subcommand operator; and not __fish_seen_subcommand_from list show create disable enable delete grant revoke reset-mfa reset-password" -f -a "disable" -d 'Disable an operator and end their sessions (step-up MFA)'
complete -c imadm -n "__fish_imadm_using_subcommand operator; and not __fish_seen_subcommand_from list show create disable enable delete grant revoke reset-mfa reset-password" -f -a "enable" -d 'Enable a disabled operator (step-up MFA)'
complete -c imadm -n "__fish_imadm_using_subcommand operator; and not __fish_seen_subcommand_from list show create disable enable delete grant revoke reset-mfa reset-password" -f -a "delete" -d 'Delete an operator (step-up MFA)'
complete -c imadm -n "__fish_imadm_using_subcommand operator; and not __fish_seen_subcommand_from list show create disable enable delete grant revoke reset-mfa reset-password" -f -a "grant" -d 'Grant roles to an operator (step-up MFA)'
complete -c imadm -n "__fish_imadm_using_subcommand operator; and not __fish_seen_subcommand_from list show create disable enable delete grant revoke reset-mfa reset-password" -f -a "revoke" -d 'Revoke roles from an operator (step-up MFA)'
complete -c imadm -n "__fish_imadm_using_subcommand operator; and not __fish_seen_subcommand_from list show create disable enable delete grant revoke reset-mfa reset-password" -f -a "reset-mfa" -d 'Remove an operator\'s MFA so they enrol again (step-up MFA)'
complete -c imadm -n "__fish_imadm_using_subcommand operator; and not __fish_seen_subcommand_from list show create disable enable delete grant revoke reset-mfa reset-password" -f -a "reset-password" -d 'Give an operator a new one-time password and end their sessions (step-up MFA)'
complete -c imadm -n "__fish_imadm_using_subcommand operator; and __fish_seen_subcommand_from list" -l profile -d 'Saved server profile to use' -r
complete -c imadm -n "__fish_imadm_using_subcommand operator; and __fish_seen_subcommand_from list" -l server -d 'Admin API base URL (https only)' -r
complete -c imadm -n "__fish_imadm_using_subcommand operator; and __fish_seen_subcommand_from list" -l app-id -d 'Lanying app id, sent as the `app_id` header' -r
complete -c imadm -n "__fish_imadm_using_subcommand operator; and __fish_seen_subcommand_from list" -l ca-cert -d 'Extra PEM CA certificate to trust' -r -F
complete -c imadm -n "__fish_imadm_using_subcommand operator; and __fish_seen_subcommand_from list" -s o -l output -d 'Output format [default: table on a terminal, tsv when piped]' -r -f -a "table\t''
json\t''
jsonl\t''
csv\t''
tsv\t''"
complete -c imadm -n "__fish_imadm_using_subcommand operator; and __fish_seen_subcommand_from list" -l config-dir -d 'Directory holding profiles [default: XDG config dir imadm/]' -r -F
complete -c imadm -n "__fish_imadm_using_subcommand operator; and __fish_seen_subcommand_from list" -l color -d 'When to use colour (NO_COLOR is honoured)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c imadm -n "__fish_imadm_using_subcommand operator; and __fish_seen_subcommand_from list" -l insecure-http -d 'Allow an http:// server URL, for a loopback address only'
complete -c imadm -n "__fish_imadm_using_subcommand operator; and __fish_seen_subcommand_from list" -l no-input -d 'Never prompt; fail with a hint instead (implied when stdin is not a terminal)'
complete -c imadm -n "__fish_imadm_using_subcommand operator; and __fish_seen_subcommand_from list" -s y -l yes -d 'Answer yes to confirmations'
complete -c imadm -n "__fish_imadm_using_subcommand operator; and __fish_seen_subcommand_from list" -s v -l verbose -d 'More diagnostics on stderr (repeat for more); never secrets'
complete -c imadm -n "__fish_imadm_using_subcommand operator; and __fish_seen_subcommand_from list" -s q -l quiet -d 'Fewer messages on stderr'
complete -c imadm -n "__fish_imadm_using_subcommand operator; and __fish_seen_subcommand_from list" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c imadm -n "__fish_imadm_using_subcommand operator; and __fish_seen_subcommand_from list" -s V -l version -d 'Print version'
complete -c imadm -n "__fish_imadm_using_subcommand operator; and __fish_seen_subcommand_from show" -l profile -d 'Saved server profile to use' -r
complete -c imadm -n "__fish_imadm_using_subcommand operator; and __fish_seen_subcommand_from show" -l server -d 'Admin API base URL (https only)' -r
complete -c imadm -n "__fish_imadm_using_subcommand operator; and __fish_seen_subcommand_from show" -l app-id -d 'Lanying app id, sent as the `app_id` header' -r
complete -c imadm -n "__fish_imadm_using_subcommand operator; and __fish_seen_subcommand_from show" -l ca-cert -d 'Extra PEM CA certificate to trust' -r -F
complete -c imadm -n "__fish_imadm_using_subcommand operator; and __fish_seen_subcommand_from show" -s o -l output -d 'Output format [default: table on a terminal, tsv when piped]' -r -f -a "table\t''
json\t''
jsonl\t''
csv\t''
tsv\t''"
complete -c imadm -n "__fish_imadm_using_subcommand operator; and __fish_seen_subcommand_from show" -l config-dir -d 'Directory holding profiles [default: XDG config dir imadm/]' -r -F
complete -c imadm -n "__fish_imadm_using_subcommand operator; and __fish_seen_subcommand_from show" -l color -d 'When to use colour (NO_COLOR is honoured)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c imadm -n "__fish_imadm_using_subcommand operator; and __fish_seen_subcommand_from show" -l insecure-http -d 'Allow an http:// server URL, for a loopback address only'
complete -c imadm -n "__fish_imadm_using_subcommand operator; and __fish_seen_subcommand_from show" -l no-input -d 'Never prompt; fail with a hint instead (implied when stdin is not a terminal)'
complete -c imadm -n "__fish_imadm_using_subcommand operator; and __fish_seen_subcommand_from show" -s y -l yes -d 'Answer yes to confirmations'
complete -c imadm -n "__fish_imadm_using_subcommand operator; and __fish_seen_subcommand_from show" -s v -l verbose -d 'More diagnostics on stderr (repeat for more); never secrets'
complete -c imadm -n "__fish_imadm_using_subcommand operator; and __fish_seen_subcommand_from show" -s q -l quiet -d 'Fewer messages on stderr'
complete -c imadm -n "__fish_imadm_using_subcommand operator; and __fish_seen_subcommand_from show" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c imadm -n "__fish_imadm_using_subcommand operator; and __fish_seen_subcommand_from show" -s V -l version -d 'Print version'
complete -c imadm -n "__fish_imadm_using_subcommand operator; and __fish_seen_subcommand_from create" -s r -l role -d 'Role to grant (repeat); you can only grant roles whose permissions you hold' -r
complete -c imadm -n "__fish_imadm_using_subcommand operator; and __fish_seen_subcommand_from create" -l otp -d 'Current TOTP code for step-up MFA (prompted if needed); prefer IMADM_OTP in scripts' -r
complete -c imadm -n "__fish_imadm_using_subcommand operator; and __fish_seen_subcommand_from create" -l profile -d 'Saved server profile to use' -r
complete -c imadm -n "__fish_imadm_using_subcommand operator; and __fish_seen_subcommand_from create" -l server -d 'Admin API base URL (https only)' -r
complete -c imadm -n "__fish_imadm_using_subcommand operator; and __fish_seen_subcommand_from create" -l app-id -d 'Lanying app id, sent as the `app_id` header' -r
complete -c imadm -n "__fish_imadm_using_subcommand operator; and __fish_seen_subcommand_from create" -l ca-cert -d 'Extra PEM CA certificate to trust' -r -F
complete -c imadm -n "__fish_imadm_using_subcommand operator; and __fish_seen_subcommand_from create" -s o -l output -d 'Output format [default: table on a terminal, tsv when piped]' -r -f -a "table\t''
json\t''
jsonl\t''
csv\t''
tsv\t''"
complete -c imadm -n "__fish_imadm_using_subcommand operator; and __fish_seen_subcommand_from create" -l config-dir -d 'Directory holding profiles [default: XDG config dir imadm/]' -r -F
complete -c imadm -n "__fish_imadm_using_subcommand operator; and __fish_seen_subcommand_from create" -l color -d 'When to use colour (NO_COLOR is honoured)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c imadm -n "__fish_imadm_using_subcommand operator; and __fish_seen_subcommand_from create" -l web -d 'Approve with a passkey in the browser instead of a TOTP code (prints the URL; opens it when there is a display)'
complete -c imadm -n "__fish_imadm_using_subcommand operator; and __fish_seen_subcommand_from create" -l insecure-http -d 'Allow an http:// server URL, for a loopback address only'
complete -c imadm -n "__fish_imadm_using_subcommand operator; and __fish_seen_subcommand_from create" -l no-input -d 'Never prompt; fail with a hint instead (implied when stdin is not a terminal)'
complete -c imadm -n "__fish_imadm_using_subcommand operator; and __fish_seen_subcommand_from create" -s y -l yes -d 'Answer yes to confirmations'
complete -c imadm -n "__fish_imadm_using_subcommand operator; and __fish_seen_subcommand_from create" -s v -l verbose -d 'More diagnostics on stderr (repeat for more); never secrets'
complete -c imadm -n "__fish_imadm_using_subcommand operator; and __fish_seen_subcommand_from create" -s q -l quiet -d 'Fewer messages on stderr'
complete -c imadm -n "__fish_imadm_using_subcommand operator; and __fish_seen_subcommand_from create" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c imadm -n "__fish_imadm_using_subcommand operator; and __fish_seen_subcommand_from create" -s V -l version -d 'Print version'
complete -c imadm -n "__fish_imadm_using_subcommand operator; and __fish_seen_subcommand_from disable" -l otp -d 'Current TOTP code for step-up MFA (prompted if needed); prefer IMADM_OTP in scripts' -r
complete -c imadm -n "__fish_imadm_using_subcommand operator; and __fish_seen_subcommand_from disable" -l profile -d 'Saved server profile to use' -r
complete -c imadm -n "__fish_imadm_using_subcommand operator; and __fish_seen_subcommand_from disable" -l server -d 'Admin API base URL (https only)' -r
complete -c imadm -n "__fish_imadm_using_subcommand operator; and __fish_seen_subcommand_from disable" -l app-id -d 'Lanying app id, sent as the `app_id` header' -r
complete -c imadm -n "__fish_imadm_using_subcommand operator; and __fish_seen_subcommand_from disable" -l ca-cert -d 'Extra PEM CA certificate to trust' -r -F
complete -c imadm -n "__fish_imadm_using_subcommand operator; and __fish_seen_subcommand_from disable" -s o -l output -d 'Output format [default: table on a terminal, tsv when piped]' -r -f -a "table\t''
json\t''
jsonl\t''
csv\t''
tsv\t''"
complete -c imadm -n "__fish_imadm_using_subcommand operator; and __fish_seen_subcommand_from disable" -l config-dir -d 'Directory holding profiles [default: XDG config dir imadm/]' -r -F
complete -c imadm -n "__fish_imadm_using_subcommand operator; and __fish_seen_subcommand_from disable" -l color -d 'When to use colour (NO_COLOR is honoured)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c imadm -n "__fish_imadm_using_subcommand operator; and __fish_seen_subcommand_from disable" -l web -d 'Approve with a passkey in the browser instead of a TOTP code (prints the URL; opens it when there is a display)'
complete -c imadm -n "__fish_imadm_using_subcommand operator; and __fish_seen_subcommand_from disable" -l insecure-http -d 'Allow an http:// server URL, for a loopback address only'
complete -c imadm -n "__fish_imadm_using_subcommand operator; and __fish_seen_subcommand_from disable" -l no-input -d 'Never prompt; fail with a hint instead (implied when stdin is not a terminal)'
complete -c imadm -n "__fish_imadm_using_subcommand operator; and __fish_seen_subcommand_from disable" -s y -l yes -d 'Answer yes to confirmations'
complete -c imadm -n "__fish_imadm_using_subcommand operator; and __fish_seen_subcommand_from disable" -s v -l verbose -d 'More diagnostics on stderr (repeat for more); never secrets'
complete -c imadm -n "__fish_imadm_using_subcommand operator; and __fish_seen_subcommand_from disable" -s q -l quiet -d 'Fewer messages on stderr'
complete -c imadm -n "__fish_imadm_using_subcommand operator; and __fish_seen_subcommand_from disable" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c imadm -n "__fish_imadm_using_subcommand operator; and __fish_seen_subcommand_from disable" -s V -l version -d 'Print version'
complete -c imadm -n "__fish_imadm_using_subcommand operator; and __fish_seen_subcommand_from enable" -l otp -d 'Current TOTP code for step-up MFA (prompted if needed); prefer IMADM_OTP in scripts' -r
complete -c imadm -n "__fish_imadm_using_subcommand operator; and __fish_seen_subcommand_from enable" -l profile -d 'Saved server profile to use' -r
complete -c imadm -n "__fish_imadm_using_subcommand operator; and __fish_seen_subcommand_from enable" -l server -d 'Admin API base URL (https only)' -r
complete -c imadm -n "__fish_imadm_using_subcommand operator; and __fish_seen_subcommand_from enable" -l app-id -d 'Lanying app id, sent as the `app_id` header' -r
complete -c imadm -n "__fish_imadm_using_subcommand operator; and __fish_seen_subcommand_from enable" -l ca-cert -d 'Extra PEM CA certificate to trust' -r -F
complete -c imadm -n "__fish_imadm_using_subcommand operator; and __fish_seen_subcommand_from enable" -s o -l output -d 'Output format [default: table on a terminal, tsv when piped]' -r -f -a "table\t''
json\t''
jsonl\t''
csv\t''
tsv\t''"
complete -c imadm -n "__fish_imadm_using_subcommand operator; and __fish_seen_subcommand_from enable" -l config-dir -d 'Directory holding profiles [default: XDG config dir imadm/]' -r -F
complete -c imadm -n "__fish_imadm_using_subcommand operator; and __fish_seen_subcommand_from enable" -l color -d 'When to use colour (NO_COLOR is honoured)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c imadm -n "__fish_imadm_using_subcommand operator; and __fish_seen_subcommand_from enable" -l web -d 'Approve with a passkey in the browser instead of a TOTP code (prints the URL; opens it when there is a display)'
complete -c imadm -n "__fish_imadm_using_subcommand operator; and __fish_seen_subcommand_from enable" -l insecure-http -d 'Allow an http:// server URL, for a loopback address only'
complete -c imadm -n "__fish_imadm_using_subcommand operator; and __fish_seen_subcommand_from enable" -l no-input -d 'Never prompt; fail with a hint instead (implied when stdin is not a terminal)'
complete -c imadm -n "__fish_imadm_using_subcommand operator; and __fish_seen_subcommand_from enable" -s y -l yes -d 'Answer yes to confirmations'
complete -c imadm -n "__fish_imadm_using_subcommand operator; and __fish_seen_subcommand_from enable" -s v -l verbose -d 'More diagnostics on stderr (repeat for more); never secrets'
complete -c imadm -n "__fish_imadm_using_subcommand operator; and __fish_seen_subcommand_from enable" -s q -l quiet -d 'Fewer messages on stderr'
complete -c imadm -n "__fish_imadm_using_subcommand operator; and __fish_seen_subcommand_from enable" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c imadm -n "__fish_imadm_using_subcommand operator; and __fish_seen_subcommand_from enable" -s V -l version -d 'Print version'
complete -c imadm -n "__fish_imadm_using_subcommand operator; and __fish_seen_subcommand_from delete" -l otp -d 'Current TOTP code for step-up MFA (prompted if needed); prefer IMADM_OTP in scripts' -r
complete -c imadm -n "__fish_imadm_using_subcommand operator; and __fish_seen_subcommand_from delete" -l profile -d 'Saved server profile to use' -r
complete -c imadm -n "__fish_imadm_using_subcommand operator; and __fish_seen_subcommand_from delete" -l server -d 'Admin API base URL (https only)' -r
complete -c imadm -n "__fish_imadm_using_subcommand operator; and __fish_seen_subcommand_from delete" -l app-id -d 'Lanying app id, sent as the `app_id` header' -r
complete -c imadm -n "__fish_imadm_using_subcommand operator; and __fish_seen_subcommand_from delete" -l ca-cert -d 'Extra PEM CA certificate to trust' -r -F
complete -c imadm -n "__fish_imadm_using_subcommand operator; and __fish_seen_subcommand_from delete" -s o -l output -d 'Output format [default: table on a terminal, tsv when piped]' -r -f -a "table\t''
json\t''
jsonl\t''
csv\t''
tsv\t''"
complete -c imadm -n "__fish_imadm_using_subcommand operator; and __fish_seen_subcommand_from delete" -l config-dir -d 'Directory holding profiles [default: XDG config dir imadm/]' -r -F
complete -c imadm -n "__fish_imadm_using_subcommand operator; and __fish_seen_subcommand_from delete" -l color -d 'When to use colour (NO_COLOR is honoured)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c imadm -n "__fish_imadm_using_subcommand operator; and __fish_seen_subcommand_from delete" -l web -d 'Approve with a passkey in the browser instead of a TOTP code (prints the URL; opens it when there is a display)'
complete -c imadm -n "__fish_imadm_using_subcommand operator; and __fish_seen_subcommand_from delete" -l insecure-http -d 'Allow an http:// server URL, for a loopback address only'
complete -c imadm -n "__fish_imadm_using_subcommand operator; and __fish_seen_subcommand_from delete" -l no-input -d 'Never prompt; fail with a hint instead (implied when stdin is not a terminal)'
complete -c imadm -n "__fish_imadm_using_subcommand operator; and __fish_seen_subcommand_from delete" -s y -l yes -d 'Answer yes to confirmations'
complete -c imadm -n "__fish_imadm_using_subcommand operator; and __fish_seen_subcommand_from delete" -s v -l verbose -d 'More diagnostics on stderr (repeat for more); never secrets'
complete -c imadm -n "__fish_imadm_using_subcommand operator; and __fish_seen_subcommand_from delete" -s q -l quiet -d 'Fewer messages on stderr'
complete -c imadm -n "__fish_imadm_using_subcommand operator; and __fish_seen_subcommand_from delete" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c imadm -n "__fish_imadm_using_subcommand operator; and __fish_seen_subcommand_from delete" -s V -l version -d 'Print version'
complete -c imadm -n "__fish_imadm_using_subcommand operator; and __fish_seen_subcommand_from grant" -l otp -d 'Current TOTP code for step-up MFA (prompted if needed); prefer IMADM_OTP in scripts' -r
complete -c imadm -n "__fish_imadm_using_subcommand operator; and __fish_seen_subcommand_from grant" -l profile -d 'Saved server profile to use' -r
complete -c imadm -n "__fish_imadm_using_subcommand operator; and __fish_seen_subcommand_from grant" -l server -d 'Admin API base URL (https only)' -r
complete -c imadm -n "__fish_imadm_using_subcommand operator; and __fish_seen_subcommand_from grant" -l app-id -d 'Lanying app id, sent as the `app_id` header' -r
complete -c imadm -n "__fish_imadm_using_subcommand operator; and __fish_seen_subcommand_from grant" -l ca-cert -d 'Extra PEM CA certificate to trust' -r -F
complete -c imadm -n "__fish_imadm_using_subcommand operator; and __fish_seen_subcommand_from grant" -s o -l output -d 'Output format [default: table on a terminal, tsv when piped]' -r -f -a "table\t''
json\t''
jsonl\t''
csv\t''
tsv\t''"
complete -c imadm -n "__fish_imadm_using_subcommand operator; and __fish_seen_subcommand_from grant" -l config-dir -d 'Directory holding profiles [default: XDG config dir imadm/]' -r -F
complete -c imadm -n "__fish_imadm_using_subcommand operator; and __fish_seen_subcommand_from grant" -l color -d 'When to use colour (NO_COLOR is honoured)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c imadm -n "__fish_imadm_using_subcommand operator; and __fish_seen_subcommand_from grant" -l web -d 'Approve with a passkey in the browser instead of a TOTP code (prints the URL; opens it when there is a display)'
complete -c imadm -n "__fish_imadm_using_subcommand operator; and __fish_seen_subcommand_from grant" -l insecure-http -d 'Allow an http:// server URL, for a loopback address only'
complete -c imadm -n "__fish_imadm_using_subcommand operator; and __fish_seen_subcommand_from grant" -l no-input -d 'Never prompt; fail with a hint instead (implied when stdin is not a terminal)'
complete -c imadm -n "__fish_imadm_using_subcommand operator; and __fish_seen_subcommand_from grant" -s y -l yes -d 'Answer yes to confirmations'
complete -c imadm -n "__fish_imadm_using_subcommand operator; and __fish_seen_subcommand_from grant" -s v -l verbose -d 'More diagnostics on stderr (repeat for more); never secrets'
complete -c imadm -n "__fish_imadm_using_subcommand operator; and __fish_seen_subcommand_from grant" -s q -l quiet -d 'Fewer messages on stderr'
complete -c imadm -n "__fish_imadm_using_subcommand operator; and __fish_seen_subcommand_from grant" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c imadm -n "__fish_imadm_using_subcommand operator; and __fish_seen_subcommand_from grant" -s V -l version -d 'Print version'
complete -c imadm -n "__fish_imadm_using_subcommand operator; and __fish_seen_subcommand_from revoke" -l otp -d 'Current TOTP code for step-up MFA (prompted if needed); prefer IMADM_OTP in scripts' -r
complete -c imadm -n "__fish_imadm_using_subcommand operator; and __fish_seen_subcommand_from revoke" -l profile -d 'Saved server profile to use' -r
complete -c imadm -n "__fish_imadm_using_subcommand operator; and __fish_seen_subcommand_from revoke" -l server -d 'Admin API base URL (https only)' -r
complete -c imadm -n "__fish_imadm_using_subcommand operator; and __fish_seen_subcommand_from revoke" -l app-id -d 'Lanying app id, sent as the `app_id` header' -r
complete -c imadm -n "__fish_imadm_using_subcommand operator; and __fish_seen_subcommand_from revoke" -l ca-cert -d 'Extra PEM CA certificate to trust' -r -F
complete -c imadm -n "__fish_imadm_using_subcommand operator; and __fish_seen_subcommand_from revoke" -s o -l output -d 'Output format [default: table on a terminal, tsv when piped]' -r -f -a "table\t''
json\t''
jsonl\t''
csv\t''
tsv\t''"
complete -c imadm -n "__fish_imadm_using_subcommand operator; and __fish_seen_subcommand_from revoke" -l config-dir -d 'Directory holding profiles [default: XDG config dir imadm/]' -r -F
complete -c imadm -n "__fish_imadm_using_subcommand operator; and __fish_seen_subcommand_from revoke" -l color -d 'When to use colour (NO_COLOR is honoured)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c imadm -n "__fish_imadm_using_subcommand operator; and __fish_seen_subcommand_from revoke" -l web -d 'Approve with a passkey in the browser instead of a TOTP code (prints the URL; opens it when there is a display)'
complete -c imadm -n "__fish_imadm_using_subcommand operator; and __fish_seen_subcommand_from revoke" -l insecure-http -d 'Allow an http:// server URL, for a loopback address only'
complete -c imadm -n "__fish_imadm_using_subcommand operator; and __fish_seen_subcommand_from revoke" -l no-input -d 'Never prompt; fail with a hint instead (implied when stdin is not a terminal)'
complete -c imadm -n "__fish_imadm_using_subcommand operator; and __fish_seen_subcommand_from revoke" -s y -l yes -d 'Answer yes to confirmations'
complete -c imadm -n "__fish_imadm_using_subcommand operator; and __fish_seen_subcommand_from revoke" -s v -l verbose -d 'More diagnostics on stderr (repeat for more); never secrets'
complete -c imadm -n "__fish_imadm_using_subcommand operator; and __fish_seen_subcommand_from revoke" -s q -l quiet -d 'Fewer messages on stderr'
complete -c imadm -n "__fish_imadm_using_subcommand operator; and __fish_seen_subcommand_from revoke" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c imadm -n "__fish_imadm_using_subcommand operator; and __fish_seen_subcommand_from revoke" -s V -l version -d 'Print version'
complete -c imadm -n "__fish_imadm_using_subcommand operator; and __fish_seen_subcommand_from reset-mfa" -l otp -d 'Current TOTP code for step-up MFA (prompted if needed); prefer IMADM_OTP in scripts' -r
complete -c imadm -n "__fish_imadm_using_subcommand operator; and __fish_seen_subcommand_from reset-mfa" -l profile -d 'Saved server profile to use' -r
complete -c imadm -n "__fish_imadm_using_subcommand operator; and __fish_seen_subcommand_from reset-mfa" -l server -d 'Admin API base URL (https only)' -r
complete -c imadm -n "__fish_imadm_using_subcommand operator; and __fish_seen_subcommand_from reset-mfa" -l app-id -d 'Lanying app id, sent as the `app_id` header' -r
complete -c imadm -n "__fish_imadm_using_subcommand operator; and __fish_seen_subcommand_from reset-mfa" -l ca-cert -d 'Extra PEM CA certificate to trust' -r -F
complete -c imadm -n "__fish_imadm_using_subcommand operator; and __fish_seen_subcommand_from reset-mfa" -s o -l output -d 'Output format [default: table on a terminal, tsv when piped]' -r -f -a "table\t''
json\t''
jsonl\t''
csv\t''
tsv\t''"
complete -c imadm -n "__fish_imadm_using_subcommand operator; and __fish_seen_subcommand_from reset-mfa" -l config-dir -d 'Directory holding profiles [default: XDG config dir imadm/]' -r -F
complete -c imadm -n "__fish_imadm_using_subcommand operator; and __fish_seen_subcommand_from reset-mfa" -l color -d 'When to use colour (NO_COLOR is honoured)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c imadm -n "__fish_imadm_using_subcommand operator; and __fish_seen_subcommand_from reset-mfa" -l web -d 'Approve with a passkey in the browser instead of a TOTP code (prints the URL; opens it when there is a display)'
complete -c imadm -n "__fish_imadm_using_subcommand operator; and __fish_seen_subcommand_from reset-mfa" -l insecure-http -d 'Allow an http:// server URL, for a loopback address only'
complete -c imadm -n "__fish_imadm_using_subcommand operator; and __fish_seen_subcommand_from reset-mfa" -l no-input -d 'Never prompt; fail with a hint instead (implied when stdin is not a terminal)'
complete -c imadm -n "__fish_imadm_using_subcommand operator; and __fish_seen_subcommand_from reset-mfa" -s y -l yes -d 'Answer yes to confirmations'
complete -c imadm -n "__fish_imadm_using_subcommand operator; and __fish_seen_subcommand_from reset-mfa" -s v -l verbose -d 'More diagnostics on stderr (repeat for more); never secrets'
complete -c imadm -n "__fish_imadm_using_subcommand operator; and __fish_seen_subcommand_from reset-mfa" -s q -l quiet -d 'Fewer messages on stderr'
complete -c imadm -n "__fish_imadm_using_subcommand operator; and __fish_seen_subcommand_from reset-mfa" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c imadm -n "__fish_imadm_using_subcommand operator; and __fish_seen_subcommand_from reset-mfa" -s V -l version -d 'Print version'
complete -c imadm -n "__fish_imadm_using_subcommand operator; and __fish_seen_subcommand_from reset-password" -l otp -d 'Current TOTP code for step-up MFA (prompted if needed); prefer IMADM_OTP in scripts' -r
complete -c imadm -n "__fish_imadm_using_subcommand operator; and __fish_seen_subcommand_from reset-password" -l profile -d 'Saved server profile to use' -r
complete -c imadm -n "__fish_imadm_using_subcommand operator; and __fish_seen_subcommand_from reset-password" -l server -d 'Admin API base URL (https only)' -r
complete -c imadm -n "__fish_imadm_using_subcommand operator; and __fish_seen_subcommand_from reset-password" -l app-id -d 'Lanying app id, sent as the `app_id` header' -r
complete -c imadm -n "__fish_imadm_using_subcommand operator; and __fish_seen_subcommand_from reset-password" -l ca-cert -d 'Extra PEM CA certificate to trust' -r -F
complete -c imadm -n "__fish_imadm_using_subcommand operator; and __fish_seen_subcommand_from reset-password" -s o -l output -d 'Output format [default: table on a terminal, tsv when piped]' -r -f -a "table\t''
json\t''
jsonl\t''
csv\t''
tsv\t''"
complete -c imadm -n "__fish_imadm_using_subcommand operator; and __fish_seen_subcommand_from reset-password" -l config-dir -d 'Directory holding profiles [default: XDG config dir imadm/]' -r -F
complete -c imadm -n "__fish_imadm_using_subcommand operator; and __fish_seen_subcommand_from reset-password" -l color -d 'When to use colour (NO_COLOR is honoured)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c imadm -n "__fish_imadm_using_subcommand operator; and __fish_seen_subcommand_from reset-password" -l web -d 'Approve with a passkey in the browser instead of a TOTP code (prints the URL; opens it when there is a display)'
complete -c imadm -n "__fish_imadm_using_subcommand operator; and __fish_seen_subcommand_from reset-password" -l insecure-http -d 'Allow an http:// server URL, for a loopback address only'
complete -c imadm -n "__fish_imadm_using_subcommand operator; and __fish_seen_subcommand_from reset-password" -l no-input -d 'Never prompt; fail with a hint instead (implied when stdin is not a terminal)'
complete -c imadm -n "__fish_imadm_using_subcommand operator; and __fish_seen_subcommand_from reset-password" -s y -l yes -d 'Answer yes to confirmations'
complete -c imadm -n "__fish_imadm_using_subcommand operator; and __fish_seen_subcommand_from reset-password" -s v -l verbose -d 'More diagnostics on stderr (repeat for more); never secrets'
complete -c imadm -n "__fish_imadm_using_subcommand operator; and __fish_seen_subcommand_from reset-password" -s q -l quiet -d 'Fewer messages on stderr'
complete -c imadm -n "__fish_imadm_using_subcommand operator; and __fish_seen_subcommand_from reset-password" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c imadm -n "__fish_imadm_using_subcommand operator; and __fish_seen_subcommand_from reset-password" -s V -l version -d 'Print version'
complete -c imadm -n "__fish_imadm_using_subcommand role; and not __fish_seen_subcommand_from list show create update delete permissions apply" -l profile -d 'Saved server profile to use' -r
complete -c imadm -n "__fish_imadm_using_subcommand role; and not __fish_seen_subcommand_from list show create update delete permissions apply" -l server -d 'Admin API base URL (https only)' -r
complete -c imadm -n "__fish_imadm_using_subcommand role; and not __fish_seen_subcommand_from list show create update delete permissions apply" -l app-id -d 'Lanying app id, sent as the `app_id` header' -r
complete -c imadm -n "__fish_imadm_using_subcommand role; and not __fish_seen_subcommand_from list show create update delete permissions apply" -l ca-cert -d 'Extra PEM CA certificate to trust' -r -F
complete -c imadm -n "__fish_imadm_using_subcommand role; and not __fish_seen_subcommand_from list show create update delete permissions apply" -s o -l output -d 'Output format [default: table on a terminal, tsv when piped]' -r -f -a "table\t''
json\t''
jsonl\t''
csv\t''
tsv\t''"
complete -c imadm -n "__fish_imadm_using_subcommand role; and not __fish_seen_subcommand_from list show create update delete permissions apply" -l config-dir -d 'Directory holding profiles [default: XDG config dir imadm/]' -r -F
complete -c imadm -n "__fish_imadm_using_subcommand role; and not __fish_seen_subcommand_from list show create update delete permissions apply" -l color -d 'When to use colour (NO_COLOR is honoured)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c imadm -n "__fish_imadm_using_subcommand role; and not __fish_seen_subcommand_from list show create update delete permissions apply" -l insecure-http -d 'Allow an http:// server URL, for a loopback address only'
complete -c imadm -n "__fish_imadm_using_subcommand role; and not __fish_seen_subcommand_from list show create update delete permissions apply" -l no-input -d 'Never prompt; fail with a hint instead (implied when stdin is not a terminal)'
complete -c imadm -n "__fish_imadm_using_subcommand role; and not __fish_seen_subcommand_from list show create update delete permissions apply" -s y -l yes -d 'Answer yes to confirmations'
complete -c imadm -n "__fish_imadm_using_subcommand role; and not __fish_seen_subcommand_from list show create update delete permissions apply" -s v -l verbose -d 'More diagnostics on stderr (repeat for more); never secrets'
complete -c imadm -n "__fish_imadm_using_subcommand role; and not __fish_seen_subcommand_from list show create update delete permissions apply" -s q -l quiet -d 'Fewer messages on stderr'
complete -c imadm -n "__fish_imadm_using_subcommand role; and not __fish_seen_subcommand_from list show create update delete permissions apply" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c imadm -n "__fish_imadm_using_subcommand role; and not __fish_seen_subcommand_from list show create update delete permissions apply" -s V -l version -d 'Print version'
complete -c imadm -n "__fish_imadm_using_subcommand role; and not __fish_seen_subcommand_from list show create update delete permissions apply" -f -a "list" -d 'List roles and their permissions'
complete -c imadm -n "__fish_imadm_using_subcommand role; and not __fish_seen_subcommand_from list show create update delete permissions apply" -f -a "show" -d 'Show one role'
complete -c imadm -n "__fish_imadm_using_subcommand role; and not __fish_seen_subcommand_from list show create update delete permissions apply" -f -a "create" -d 'Create a custom role (step-up MFA)'
complete -c imadm -n "__fish_imadm_using_subcommand role; and not __fish_seen_subcommand_from list show create update delete permissions apply" -f -a "update" -d 'Add or remove permissions of a custom role (step-up MFA)'
complete -c imadm -n "__fish_imadm_using_subcommand role; and not __fish_seen_subcommand_from list show create update delete permissions apply" -f -a "delete" -d 'Delete a custom role nobody holds (step-up MFA)'
complete -c imadm -n "__fish_imadm_using_subcommand role; and not __fish_seen_subcommand_from list show create update delete permissions apply" -f -a "permissions" -d 'The permission catalogue'
complete -c imadm -n "__fish_imadm_using_subcommand role; and not __fish_seen_subcommand_from list show create update delete permissions apply" -f -a "apply" -d 'Make custom roles match a TOML file; shows the diff (step-up MFA)'
complete -c imadm -n "__fish_imadm_using_subcommand role; and __fish_seen_subcommand_from list" -l profile -d 'Saved server profile to use' -r
complete -c imadm -n "__fish_imadm_using_subcommand role; and __fish_seen_subcommand_from list" -l server -d 'Admin API base URL (https only)' -r
complete -c imadm -n "__fish_imadm_using_subcommand role; and __fish_seen_subcommand_from list" -l app-id -d 'Lanying app id, sent as the `app_id` header' -r
complete -c imadm -n "__fish_imadm_using_subcommand role; and __fish_seen_subcommand_from list" -l ca-cert -d 'Extra PEM CA certificate to trust' -r -F
complete -c imadm -n "__fish_imadm_using_subcommand role; and __fish_seen_subcommand_from list" -s o -l output -d 'Output format [default: table on a terminal, tsv when piped]' -r -f -a "table\t''
json\t''
jsonl\t''
csv\t''
tsv\t''"
complete -c imadm -n "__fish_imadm_using_subcommand role; and __fish_seen_subcommand_from list" -l config-dir -d 'Directory holding profiles [default: XDG config dir imadm/]' -r -F
complete -c imadm -n "__fish_imadm_using_subcommand role; and __fish_seen_subcommand_from list" -l color -d 'When to use colour (NO_COLOR is honoured)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c imadm -n "__fish_imadm_using_subcommand role; and __fish_seen_subcommand_from list" -l insecure-http -d 'Allow an http:// server URL, for a loopback address only'
complete -c imadm -n "__fish_imadm_using_subcommand role; and __fish_seen_subcommand_from list" -l no-input -d 'Never prompt; fail with a hint instead (implied when stdin is not a terminal)'
complete -c imadm -n "__fish_imadm_using_subcommand role; and __fish_seen_subcommand_from list" -s y -l yes -d 'Answer yes to confirmations'
complete -c imadm -n "__fish_imadm_using_subcommand role; and __fish_seen_subcommand_from list" -s v -l verbose -d 'More diagnostics on stderr (repeat for more); never secrets'
complete -c imadm -n "__fish_imadm_using_subcommand role; and __fish_seen_subcommand_from list" -s q -l quiet -d 'Fewer messages on stderr'
complete -c imadm -n "__fish_imadm_using_subcommand role; and __fish_seen_subcommand_from list" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c imadm -n "__fish_imadm_using_subcommand role; and __fish_seen_subcommand_from list" -s V -l version -d 'Print version'
complete -c imadm -n "__fish_imadm_using_subcommand role; and __fish_seen_subcommand_from show" -l profile -d 'Saved server profile to use' -r
complete -c imadm -n "__fish_imadm_using_subcommand role; and __fish_seen_subcommand_from show" -l server -d 'Admin API base URL (https only)' -r
complete -c imadm -n "__fish_imadm_using_subcommand role; and __fish_seen_subcommand_from show" -l app-id -d 'Lanying app id, sent as the `app_id` header' -r
complete -c imadm -n "__fish_imadm_using_subcommand role; and __fish_seen_subcommand_from show" -l ca-cert -d 'Extra PEM CA certificate to trust' -r -F
complete -c imadm -n "__fish_imadm_using_subcommand role; and __fish_seen_subcommand_from show" -s o -l output -d 'Output format [default: table on a terminal, tsv when piped]' -r -f -a "table\t''
json\t''
jsonl\t''
csv\t''
tsv\t''"
complete -c imadm -n "__fish_imadm_using_subcommand role; and __fish_seen_subcommand_from show" -l config-dir -d 'Directory holding profiles [default: XDG config dir imadm/]' -r -F
complete -c imadm -n "__fish_imadm_using_subcommand role; and __fish_seen_subcommand_from show" -l color -d 'When to use colour (NO_COLOR is honoured)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c imadm -n "__fish_imadm_using_subcommand role; and __fish_seen_subcommand_from show" -l insecure-http -d 'Allow an http:// server URL, for a loopback address only'
complete -c imadm -n "__fish_imadm_using_subcommand role; and __fish_seen_subcommand_from show" -l no-input -d 'Never prompt; fail with a hint instead (implied when stdin is not a terminal)'
complete -c imadm -n "__fish_imadm_using_subcommand role; and __fish_seen_subcommand_from show" -s y -l yes -d 'Answer yes to confirmations'
complete -c imadm -n "__fish_imadm_using_subcommand role; and __fish_seen_subcommand_from show" -s v -l verbose -d 'More diagnostics on stderr (repeat for more); never secrets'
complete -c imadm -n "__fish_imadm_using_subcommand role; and __fish_seen_subcommand_from show" -s q -l quiet -d 'Fewer messages on stderr'
complete -c imadm -n "__fish_imadm_using_subcommand role; and __fish_seen_subcommand_from show" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c imadm -n "__fish_imadm_using_subcommand role; and __fish_seen_subcommand_from show" -s V -l version -d 'Print version'
complete -c imadm -n "__fish_imadm_using_subcommand role; and __fish_seen_subcommand_from create" -s p -l permission -d 'A permission of the role (repeat; see `imadm role permissions`)' -r
complete -c imadm -n "__fish_imadm_using_subcommand role; and __fish_seen_subcommand_from create" -s d -l description -d 'What the role is for' -r
complete -c imadm -n "__fish_imadm_using_subcommand role; and __fish_seen_subcommand_from create" -l otp -d 'Current TOTP code for step-up MFA (prompted if needed); prefer IMADM_OTP in scripts' -r
complete -c imadm -n "__fish_imadm_using_subcommand role; and __fish_seen_subcommand_from create" -l profile -d 'Saved server profile to use' -r
complete -c imadm -n "__fish_imadm_using_subcommand role; and __fish_seen_subcommand_from create" -l server -d 'Admin API base URL (https only)' -r
complete -c imadm -n "__fish_imadm_using_subcommand role; and __fish_seen_subcommand_from create" -l app-id -d 'Lanying app id, sent as the `app_id` header' -r
complete -c imadm -n "__fish_imadm_using_subcommand role; and __fish_seen_subcommand_from create" -l ca-cert -d 'Extra PEM CA certificate to trust' -r -F
complete -c imadm -n "__fish_imadm_using_subcommand role; and __fish_seen_subcommand_from create" -s o -l output -d 'Output format [default: table on a terminal, tsv when piped]' -r -f -a "table\t''
json\t''
jsonl\t''
csv\t''
tsv\t''"
complete -c imadm -n "__fish_imadm_using_subcommand role; and __fish_seen_subcommand_from create" -l config-dir -d 'Directory holding profiles [default: XDG config dir imadm/]' -r -F
complete -c imadm -n "__fish_imadm_using_subcommand role; and __fish_seen_subcommand_from create" -l color -d 'When to use colour (NO_COLOR is honoured)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c imadm -n "__fish_imadm_using_subcommand role; and __fish_seen_subcommand_from create" -l web -d 'Approve with a passkey in the browser instead of a TOTP code (prints the URL; opens it when there is a display)'
complete -c imadm -n "__fish_imadm_using_subcommand role; and __fish_seen_subcommand_from create" -l insecure-http -d 'Allow an http:// server URL, for a loopback address only'
complete -c imadm -n "__fish_imadm_using_subcommand role; and __fish_seen_subcommand_from create" -l no-input -d 'Never prompt; fail with a hint instead (implied when stdin is not a terminal)'
complete -c imadm -n "__fish_imadm_using_subcommand role; and __fish_seen_subcommand_from create" -s y -l yes -d 'Answer yes to confirmations'
complete -c imadm -n "__fish_imadm_using_subcommand role; and __fish_seen_subcommand_from create" -s v -l verbose -d 'More diagnostics on stderr (repeat for more); never secrets'
complete -c imadm -n "__fish_imadm_using_subcommand role; and __fish_seen_subcommand_from create" -s q -l quiet -d 'Fewer messages on stderr'
complete -c imadm -n "__fish_imadm_using_subcommand role; and __fish_seen_subcommand_from create" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c imadm -n "__fish_imadm_using_subcommand role; and __fish_seen_subcommand_from create" -s V -l version -d 'Print version'
complete -c imadm -n "__fish_imadm_using_subcommand role; and __fish_seen_subcommand_from update" -l add -d 'Permission to add (repeat)' -r
complete -c imadm -n "__fish_imadm_using_subcommand role; and __fish_seen_subcommand_from update" -l remove -d 'Permission to remove (repeat)' -r
complete -c imadm -n "__fish_imadm_using_subcommand role; and __fish_seen_subcommand_from update" -s d -l description -d 'New description' -r
complete -c imadm -n "__fish_imadm_using_subcommand role; and __fish_seen_subcommand_from update" -l otp -d 'Current TOTP code for step-up MFA (prompted if needed); prefer IMADM_OTP in scripts' -r
complete -c imadm -n "__fish_imadm_using_subcommand role; and __fish_seen_subcommand_from update" -l profile -d 'Saved server profile to use' -r
complete -c imadm -n "__fish_imadm_using_subcommand role; and __fish_seen_subcommand_from update" -l server -d 'Admin API base URL (https only)' -r
complete -c imadm -n "__fish_imadm_using_subcommand role; and __fish_seen_subcommand_from update" -l app-id -d 'Lanying app id, sent as the `app_id` header' -r
complete -c imadm -n "__fish_imadm_using_subcommand role; and __fish_seen_subcommand_from update" -l ca-cert -d 'Extra PEM CA certificate to trust' -r -F
complete -c imadm -n "__fish_imadm_using_subcommand role; and __fish_seen_subcommand_from update" -s o -l output -d 'Output format [default: table on a terminal, tsv when piped]' -r -f -a "table\t''
json\t''
jsonl\t''
csv\t''
tsv\t''"
complete -c imadm -n "__fish_imadm_using_subcommand role; and __fish_seen_subcommand_from update" -l config-dir -d 'Directory holding profiles [default: XDG config dir imadm/]' -r -F
complete -c imadm -n "__fish_imadm_using_subcommand role; and __fish_seen_subcommand_from update" -l color -d 'When to use colour (NO_COLOR is honoured)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c imadm -n "__fish_imadm_using_subcommand role; and __fish_seen_subcommand_from update" -l web -d 'Approve with a passkey in the browser instead of a TOTP code (prints the URL; opens it when there is a display)'
complete -c imadm -n "__fish_imadm_using_subcommand role; and __fish_seen_subcommand_from update" -l insecure-http -d 'Allow an http:// server URL, for a loopback address only'
complete -c imadm -n "__fish_imadm_using_subcommand role; and __fish_seen_subcommand_from update" -l no-input -d 'Never prompt; fail with a hint instead (implied when stdin is not a terminal)'
complete -c imadm -n "__fish_imadm_using_subcommand role; and __fish_seen_subcommand_from update" -s y -l yes -d 'Answer yes to confirmations'
complete -c imadm -n "__fish_imadm_using_subcommand role; and __fish_seen_subcommand_from update" -s v -l verbose -d 'More diagnostics on stderr (repeat for more); never secrets'
complete -c imadm -n "__fish_imadm_using_subcommand role; and __fish_seen_subcommand_from update" -s q -l quiet -d 'Fewer messages on stderr'
complete -c imadm -n "__fish_imadm_using_subcommand role; and __fish_seen_subcommand_from update" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c imadm -n "__fish_imadm_using_subcommand role; and __fish_seen_subcommand_from update" -s V -l version -d 'Print version'
complete -c imadm -n "__fish_imadm_using_subcommand role; and __fish_seen_subcommand_from delete" -l otp -d 'Current TOTP code for step-up MFA (prompted if needed); prefer IMADM_OTP in scripts' -r
complete -c imadm -n "__fish_imadm_using_subcommand role; and __fish_seen_subcommand_from delete" -l profile -d 'Saved server profile to use' -r
complete -c imadm -n "__fish_imadm_using_subcommand role; and __fish_seen_subcommand_from delete" -l server -d 'Admin API base URL (https only)' -r
complete -c imadm -n "__fish_imadm_using_subcommand role; and __fish_seen_subcommand_from delete" -l app-id -d 'Lanying app id, sent as the `app_id` header' -r
complete -c imadm -n "__fish_imadm_using_subcommand role; and __fish_seen_subcommand_from delete" -l ca-cert -d 'Extra PEM CA certificate to trust' -r -F
complete -c imadm -n "__fish_imadm_using_subcommand role; and __fish_seen_subcommand_from delete" -s o -l output -d 'Output format [default: table on a terminal, tsv when piped]' -r -f -a "table\t''
json\t''
jsonl\t''
csv\t''
tsv\t''"
complete -c imadm -n "__fish_imadm_using_subcommand role; and __fish_seen_subcommand_from delete" -l config-dir -d 'Directory holding profiles [default: XDG config dir imadm/]' -r -F
complete -c imadm -n "__fish_imadm_using_subcommand role; and __fish_seen_subcommand_from delete" -l color -d 'When to use colour (NO_COLOR is honoured)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c imadm -n "__fish_imadm_using_subcommand role; and __fish_seen_subcommand_from delete" -l web -d 'Approve with a passkey in the browser instead of a TOTP code (prints the URL; opens it when there is a display)'
complete -c imadm -n "__fish_imadm_using_subcommand role; and __fish_seen_subcommand_from delete" -l insecure-http -d 'Allow an http:// server URL, for a loopback address only'
complete -c imadm -n "__fish_imadm_using_subcommand role; and __fish_seen_subcommand_from delete" -l no-input -d 'Never prompt; fail with a hint instead (implied when stdin is not a terminal)'
complete -c imadm -n "__fish_imadm_using_subcommand role; and __fish_seen_subcommand_from delete" -s y -l yes -d 'Answer yes to confirmations'
complete -c imadm -n "__fish_imadm_using_subcommand role; and __fish_seen_subcommand_from delete" -s v -l verbose -d 'More diagnostics on stderr (repeat for more); never secrets'
complete -c imadm -n "__fish_imadm_using_subcommand role; and __fish_seen_subcommand_from delete" -s q -l quiet -d 'Fewer messages on stderr'
complete -c imadm -n "__fish_imadm_using_subcommand role; and __fish_seen_subcommand_from delete" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c imadm -n "__fish_imadm_using_subcommand role; and __fish_seen_subcommand_from delete" -s V -l version -d 'Print version'
complete -c imadm -n "__fish_imadm_using_subcommand role; and __fish_seen_subcommand_from permissions" -l profile -d 'Saved server profile to use' -r
complete -c imadm -n "__fish_imadm_using_subcommand role; and __fish_seen_subcommand_from permissions" -l server -d 'Admin API base URL (https only)' -r
complete -c imadm -n "__fish_imadm_using_subcommand role; and __fish_seen_subcommand_from permissions" -l app-id -d 'Lanying app id, sent as the `app_id` header' -r
complete -c imadm -n "__fish_imadm_using_subcommand role; and __fish_seen_subcommand_from permissions" -l ca-cert -d 'Extra PEM CA certificate to trust' -r -F
complete -c imadm -n "__fish_imadm_using_subcommand role; and __fish_seen_subcommand_from permissions" -s o -l output -d 'Output format [default: table on a terminal, tsv when piped]' -r -f -a "table\t''
json\t''
jsonl\t''
csv\t''
tsv\t''"
complete -c imadm -n "__fish_imadm_using_subcommand role; and __fish_seen_subcommand_from permissions" -l config-dir -d 'Directory holding profiles [default: XDG config dir imadm/]' -r -F
complete -c imadm -n "__fish_imadm_using_subcommand role; and __fish_seen_subcommand_from permissions" -l color -d 'When to use colour (NO_COLOR is honoured)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c imadm -n "__fish_imadm_using_subcommand role; and __fish_seen_subcommand_from permissions" -l insecure-http -d 'Allow an http:// server URL, for a loopback address only'
complete -c imadm -n "__fish_imadm_using_subcommand role; and __fish_seen_subcommand_from permissions" -l no-input -d 'Never prompt; fail with a hint instead (implied when stdin is not a terminal)'
complete -c imadm -n "__fish_imadm_using_subcommand role; and __fish_seen_subcommand_from permissions" -s y -l yes -d 'Answer yes to confirmations'
complete -c imadm -n "__fish_imadm_using_subcommand role; and __fish_seen_subcommand_from permissions" -s v -l verbose -d 'More diagnostics on stderr (repeat for more); never secrets'
complete -c imadm -n "__fish_imadm_using_subcommand role; and __fish_seen_subcommand_from permissions" -s q -l quiet -d 'Fewer messages on stderr'
complete -c imadm -n "__fish_imadm_using_subcommand role; and __fish_seen_subcommand_from permissions" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c imadm -n "__fish_imadm_using_subcommand role; and __fish_seen_subcommand_from permissions" -s V -l version -d 'Print version'
complete -c imadm -n "__fish_imadm_using_subcommand role; and __fish_seen_subcommand_from apply" -s f -l file -d 'The roles file (TOML)' -r -F
complete -c imadm -n "__fish_imadm_using_subcommand role; and __fish_seen_subcommand_from apply" -l otp -d 'Current TOTP code for step-up MFA (prompted if needed); prefer IMADM_OTP in scripts' -r
complete -c imadm -n "__fish_imadm_using_subcommand role; and __fish_seen_subcommand_from apply" -l profile -d 'Saved server profile to use' -r
complete -c imadm -n "__fish_imadm_using_subcommand role; and __fish_seen_subcommand_from apply" -l server -d 'Admin API base URL (https only)' -r
complete -c imadm -n "__fish_imadm_using_subcommand role; and __fish_seen_subcommand_from apply" -l app-id -d 'Lanying app id, sent as the `app_id` header' -r
complete -c imadm -n "__fish_imadm_using_subcommand role; and __fish_seen_subcommand_from apply" -l ca-cert -d 'Extra PEM CA certificate to trust' -r -F
complete -c imadm -n "__fish_imadm_using_subcommand role; and __fish_seen_subcommand_from apply" -s o -l output -d 'Output format [default: table on a terminal, tsv when piped]' -r -f -a "table\t''
json\t''
jsonl\t''
csv\t''
tsv\t''"
complete -c imadm -n "__fish_imadm_using_subcommand role; and __fish_seen_subcommand_from apply" -l config-dir -d 'Directory holding profiles [default: XDG config dir imadm/]' -r -F
complete -c imadm -n "__fish_imadm_using_subcommand role; and __fish_seen_subcommand_from apply" -l color -d 'When to use colour (NO_COLOR is honoured)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c imadm -n "__fish_imadm_using_subcommand role; and __fish_seen_subcommand_from apply" -l dry-run -d 'Show what would change; change nothing'
complete -c imadm -n "__fish_imadm_using_subcommand role; and __fish_seen_subcommand_from apply" -l prune -d 'Delete custom roles that the file does not list'
complete -c imadm -n "__fish_imadm_using_subcommand role; and __fish_seen_subcommand_from apply" -l web -d 'Approve with a passkey in the browser instead of a TOTP code (prints the URL; opens it when there is a display)'
complete -c imadm -n "__fish_imadm_using_subcommand role; and __fish_seen_subcommand_from apply" -l insecure-http -d 'Allow an http:// server URL, for a loopback address only'
complete -c imadm -n "__fish_imadm_using_subcommand role; and __fish_seen_subcommand_from apply" -l no-input -d 'Never prompt; fail with a hint instead (implied when stdin is not a terminal)'
complete -c imadm -n "__fish_imadm_using_subcommand role; and __fish_seen_subcommand_from apply" -s y -l yes -d 'Answer yes to confirmations'
complete -c imadm -n "__fish_imadm_using_subcommand role; and __fish_seen_subcommand_from apply" -s v -l verbose -d 'More diagnostics on stderr (repeat for more); never secrets'
complete -c imadm -n "__fish_imadm_using_subcommand role; and __fish_seen_subcommand_from apply" -s q -l quiet -d 'Fewer messages on stderr'
complete -c imadm -n "__fish_imadm_using_subcommand role; and __fish_seen_subcommand_from apply" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c imadm -n "__fish_imadm_using_subcommand role; and __fish_seen_subcommand_from apply" -s V -l version -d 'Print version'
complete -c imadm -n "__fish_imadm_using_subcommand token; and not __fish_seen_subcommand_from create list revoke" -l profile -d 'Saved server profile to use' -r
complete -c imadm -n "__fish_imadm_using_subcommand token; and not __fish_seen_subcommand_from create list revoke" -l server -d 'Admin API base URL (https only)' -r
complete -c imadm -n "__fish_imadm_using_subcommand token; and not __fish_seen_subcommand_from create list revoke" -l app-id -d 'Lanying app id, sent as the `app_id` header' -r
complete -c imadm -n "__fish_imadm_using_subcommand token; and not __fish_seen_subcommand_from create list revoke" -l ca-cert -d 'Extra PEM CA certificate to trust' -r -F
complete -c imadm -n "__fish_imadm_using_subcommand token; and not __fish_seen_subcommand_from create list revoke" -s o -l output -d 'Output format [default: table on a terminal, tsv when piped]' -r -f -a "table\t''
json\t''
jsonl\t''
csv\t''
tsv\t''"
complete -c imadm -n "__fish_imadm_using_subcommand token; and not __fish_seen_subcommand_from create list revoke" -l config-dir -d 'Directory holding profiles [default: XDG config dir imadm/]' -r -F
complete -c imadm -n "__fish_imadm_using_subcommand token; and not __fish_seen_subcommand_from create list revoke" -l color -d 'When to use colour (NO_COLOR is honoured)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c imadm -n "__fish_imadm_using_subcommand token; and not __fish_seen_subcommand_from create list revoke" -l insecure-http -d 'Allow an http:// server URL, for a loopback address only'
complete -c imadm -n "__fish_imadm_using_subcommand token; and not __fish_seen_subcommand_from create list revoke" -l no-input -d 'Never prompt; fail with a hint instead (implied when stdin is not a terminal)'
complete -c imadm -n "__fish_imadm_using_subcommand token; and not __fish_seen_subcommand_from create list revoke" -s y -l yes -d 'Answer yes to confirmations'
complete -c imadm -n "__fish_imadm_using_subcommand token; and not __fish_seen_subcommand_from create list revoke" -s v -l verbose -d 'More diagnostics on stderr (repeat for more); never secrets'
complete -c imadm -n "__fish_imadm_using_subcommand token; and not __fish_seen_subcommand_from create list revoke" -s q -l quiet -d 'Fewer messages on stderr'
complete -c imadm -n "__fish_imadm_using_subcommand token; and not __fish_seen_subcommand_from create list revoke" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c imadm -n "__fish_imadm_using_subcommand token; and not __fish_seen_subcommand_from create list revoke" -s V -l version -d 'Print version'
complete -c imadm -n "__fish_imadm_using_subcommand token; and not __fish_seen_subcommand_from create list revoke" -f -a "create" -d 'Create a service token; the secret is shown once (step-up MFA)'
complete -c imadm -n "__fish_imadm_using_subcommand token; and not __fish_seen_subcommand_from create list revoke" -f -a "list" -d 'List service tokens with their last use'
complete -c imadm -n "__fish_imadm_using_subcommand token; and not __fish_seen_subcommand_from create list revoke" -f -a "revoke" -d 'Revoke a service token'
complete -c imadm -n "__fish_imadm_using_subcommand token; and __fish_seen_subcommand_from create" -l name -d 'What the token is for (shown in `token list`)' -r
complete -c imadm -n "__fish_imadm_using_subcommand token; and __fish_seen_subcommand_from create" -l scope -d 'A permission the token carries (repeat); must be one you hold' -r
complete -c imadm -n "__fish_imadm_using_subcommand token; and __fish_seen_subcommand_from create" -l expires -d 'Lifetime: 30d, 12h, 1y (at most one year)' -r
complete -c imadm -n "__fish_imadm_using_subcommand token; and __fish_seen_subcommand_from create" -l otp -d 'Current TOTP code for step-up MFA (prompted if needed); prefer IMADM_OTP in scripts' -r
complete -c imadm -n "__fish_imadm_using_subcommand token; and __fish_seen_subcommand_from create" -l profile -d 'Saved server profile to use' -r
complete -c imadm -n "__fish_imadm_using_subcommand token; and __fish_seen_subcommand_from create" -l server -d 'Admin API base URL (https only)' -r
complete -c imadm -n "__fish_imadm_using_subcommand token; and __fish_seen_subcommand_from create" -l app-id -d 'Lanying app id, sent as the `app_id` header' -r
complete -c imadm -n "__fish_imadm_using_subcommand token; and __fish_seen_subcommand_from create" -l ca-cert -d 'Extra PEM CA certificate to trust' -r -F
complete -c imadm -n "__fish_imadm_using_subcommand token; and __fish_seen_subcommand_from create" -s o -l output -d 'Output format [default: table on a terminal, tsv when piped]' -r -f -a "table\t''
json\t''
jsonl\t''
csv\t''
tsv\t''"
complete -c imadm -n "__fish_imadm_using_subcommand token; and __fish_seen_subcommand_from create" -l config-dir -d 'Directory holding profiles [default: XDG config dir imadm/]' -r -F
complete -c imadm -n "__fish_imadm_using_subcommand token; and __fish_seen_subcommand_from create" -l color -d 'When to use colour (NO_COLOR is honoured)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c imadm -n "__fish_imadm_using_subcommand token; and __fish_seen_subcommand_from create" -l web -d 'Approve with a passkey in the browser instead of a TOTP code (prints the URL; opens it when there is a display)'
complete -c imadm -n "__fish_imadm_using_subcommand token; and __fish_seen_subcommand_from create" -l insecure-http -d 'Allow an http:// server URL, for a loopback address only'
complete -c imadm -n "__fish_imadm_using_subcommand token; and __fish_seen_subcommand_from create" -l no-input -d 'Never prompt; fail with a hint instead (implied when stdin is not a terminal)'
complete -c imadm -n "__fish_imadm_using_subcommand token; and __fish_seen_subcommand_from create" -s y -l yes -d 'Answer yes to confirmations'
complete -c imadm -n "__fish_imadm_using_subcommand token; and __fish_seen_subcommand_from create" -s v -l verbose -d 'More diagnostics on stderr (repeat for more); never secrets'
complete -c imadm -n "__fish_imadm_using_subcommand token; and __fish_seen_subcommand_from create" -s q -l quiet -d 'Fewer messages on stderr'
complete -c imadm -n "__fish_imadm_using_subcommand token; and __fish_seen_subcommand_from create" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c imadm -n "__fish_imadm_using_subcommand token; and __fish_seen_subcommand_from create" -s V -l version -d 'Print version'
complete -c imadm -n "__fish_imadm_using_subcommand token; and __fish_seen_subcommand_from list" -l profile -d 'Saved server profile to use' -r
complete -c imadm -n "__fish_imadm_using_subcommand token; and __fish_seen_subcommand_from list" -l server -d 'Admin API base URL (https only)' -r
complete -c imadm -n "__fish_imadm_using_subcommand token; and __fish_seen_subcommand_from list" -l app-id -d 'Lanying app id, sent as the `app_id` header' -r
complete -c imadm -n "__fish_imadm_using_subcommand token; and __fish_seen_subcommand_from list" -l ca-cert -d 'Extra PEM CA certificate to trust' -r -F
complete -c imadm -n "__fish_imadm_using_subcommand token; and __fish_seen_subcommand_from list" -s o -l output -d 'Output format [default: table on a terminal, tsv when piped]' -r -f -a "table\t''
json\t''
jsonl\t''
csv\t''
tsv\t''"
complete -c imadm -n "__fish_imadm_using_subcommand token; and __fish_seen_subcommand_from list" -l config-dir -d 'Directory holding profiles [default: XDG config dir imadm/]' -r -F
complete -c imadm -n "__fish_imadm_using_subcommand token; and __fish_seen_subcommand_from list" -l color -d 'When to use colour (NO_COLOR is honoured)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c imadm -n "__fish_imadm_using_subcommand token; and __fish_seen_subcommand_from list" -l insecure-http -d 'Allow an http:// server URL, for a loopback address only'
complete -c imadm -n "__fish_imadm_using_subcommand token; and __fish_seen_subcommand_from list" -l no-input -d 'Never prompt; fail with a hint instead (implied when stdin is not a terminal)'
complete -c imadm -n "__fish_imadm_using_subcommand token; and __fish_seen_subcommand_from list" -s y -l yes -d 'Answer yes to confirmations'
complete -c imadm -n "__fish_imadm_using_subcommand token; and __fish_seen_subcommand_from list" -s v -l verbose -d 'More diagnostics on stderr (repeat for more); never secrets'
complete -c imadm -n "__fish_imadm_using_subcommand token; and __fish_seen_subcommand_from list" -s q -l quiet -d 'Fewer messages on stderr'
complete -c imadm -n "__fish_imadm_using_subcommand token; and __fish_seen_subcommand_from list" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c imadm -n "__fish_imadm_using_subcommand token; and __fish_seen_subcommand_from list" -s V -l version -d 'Print version'
complete -c imadm -n "__fish_imadm_using_subcommand token; and __fish_seen_subcommand_from revoke" -l profile -d 'Saved server profile to use' -r
complete -c imadm -n "__fish_imadm_using_subcommand token; and __fish_seen_subcommand_from revoke" -l server -d 'Admin API base URL (https only)' -r
complete -c imadm -n "__fish_imadm_using_subcommand token; and __fish_seen_subcommand_from revoke" -l app-id -d 'Lanying app id, sent as the `app_id` header' -r
complete -c imadm -n "__fish_imadm_using_subcommand token; and __fish_seen_subcommand_from revoke" -l ca-cert -d 'Extra PEM CA certificate to trust' -r -F
complete -c imadm -n "__fish_imadm_using_subcommand token; and __fish_seen_subcommand_from revoke" -s o -l output -d 'Output format [default: table on a terminal, tsv when piped]' -r -f -a "table\t''
json\t''
jsonl\t''
csv\t''
tsv\t''"
complete -c imadm -n "__fish_imadm_using_subcommand token; and __fish_seen_subcommand_from revoke" -l config-dir -d 'Directory holding profiles [default: XDG config dir imadm/]' -r -F
complete -c imadm -n "__fish_imadm_using_subcommand token; and __fish_seen_subcommand_from revoke" -l color -d 'When to use colour (NO_COLOR is honoured)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c imadm -n "__fish_imadm_using_subcommand token; and __fish_seen_subcommand_from revoke" -l insecure-http -d 'Allow an http:// server URL, for a loopback address only'
complete -c imadm -n "__fish_imadm_using_subcommand token; and __fish_seen_subcommand_from revoke" -l no-input -d 'Never prompt; fail with a hint instead (implied when stdin is not a terminal)'
complete -c imadm -n "__fish_imadm_using_subcommand token; and __fish_seen_subcommand_from revoke" -s y -l yes -d 'Answer yes to confirmations'
complete -c imadm -n "__fish_imadm_using_subcommand token; and __fish_seen_subcommand_from revoke" -s v -l verbose -d 'More diagnostics on stderr (repeat for more); never secrets'
complete -c imadm -n "__fish_imadm_using_subcommand token; and __fish_seen_subcommand_from revoke" -s q -l quiet -d 'Fewer messages on stderr'
complete -c imadm -n "__fish_imadm_using_subcommand token; and __fish_seen_subcommand_from revoke" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c imadm -n "__fish_imadm_using_subcommand token; and __fish_seen_subcommand_from revoke" -s V -l version -d 'Print version'
complete -c imadm -n "__fish_imadm_using_subcommand audit; and not __fish_seen_subcommand_from log alerts export verify report checkpoint sinks" -l profile -d 'Saved server profile to use' -r
complete -c imadm -n "__fish_imadm_using_subcommand audit; and not __fish_seen_subcommand_from log alerts export verify report checkpoint sinks" -l server -d 'Admin API base URL (https only)' -r
complete -c imadm -n "__fish_imadm_using_subcommand audit; and not __fish_seen_subcommand_from log alerts export verify report checkpoint sinks" -l app-id -d 'Lanying app id, sent as the `app_id` header' -r
complete -c imadm -n "__fish_imadm_using_subcommand audit; and not __fish_seen_subcommand_from log alerts export verify report checkpoint sinks" -l ca-cert -d 'Extra PEM CA certificate to trust' -r -F
complete -c imadm -n "__fish_imadm_using_subcommand audit; and not __fish_seen_subcommand_from log alerts export verify report checkpoint sinks" -s o -l output -d 'Output format [default: table on a terminal, tsv when piped]' -r -f -a "table\t''
json\t''
jsonl\t''
csv\t''
tsv\t''"
complete -c imadm -n "__fish_imadm_using_subcommand audit; and not __fish_seen_subcommand_from log alerts export verify report checkpoint sinks" -l config-dir -d 'Directory holding profiles [default: XDG config dir imadm/]' -r -F
complete -c imadm -n "__fish_imadm_using_subcommand audit; and not __fish_seen_subcommand_from log alerts export verify report checkpoint sinks" -l color -d 'When to use colour (NO_COLOR is honoured)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c imadm -n "__fish_imadm_using_subcommand audit; and not __fish_seen_subcommand_from log alerts export verify report checkpoint sinks" -l insecure-http -d 'Allow an http:// server URL, for a loopback address only'
complete -c imadm -n "__fish_imadm_using_subcommand audit; and not __fish_seen_subcommand_from log alerts export verify report checkpoint sinks" -l no-input -d 'Never prompt; fail with a hint instead (implied when stdin is not a terminal)'
complete -c imadm -n "__fish_imadm_using_subcommand audit; and not __fish_seen_subcommand_from log alerts export verify report checkpoint sinks" -s y -l yes -d 'Answer yes to confirmations'
complete -c imadm -n "__fish_imadm_using_subcommand audit; and not __fish_seen_subcommand_from log alerts export verify report checkpoint sinks" -s v -l verbose -d 'More diagnostics on stderr (repeat for more); never secrets'
complete -c imadm -n "__fish_imadm_using_subcommand audit; and not __fish_seen_subcommand_from log alerts export verify report checkpoint sinks" -s q -l quiet -d 'Fewer messages on stderr'
complete -c imadm -n "__fish_imadm_using_subcommand audit; and not __fish_seen_subcommand_from log alerts export verify report checkpoint sinks" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c imadm -n "__fish_imadm_using_subcommand audit; and not __fish_seen_subcommand_from log alerts export verify report checkpoint sinks" -s V -l version -d 'Print version'
complete -c imadm -n "__fish_imadm_using_subcommand audit; and not __fish_seen_subcommand_from log alerts export verify report checkpoint sinks" -f -a "log" -d 'Audit events by sequence number, with filters; --follow waits for new ones'
complete -c imadm -n "__fish_imadm_using_subcommand audit; and not __fish_seen_subcommand_from log alerts export verify report checkpoint sinks" -f -a "alerts" -d 'Security alerts and their state; ack and resolve them; --fail-on exits 9 on a severity'
complete -c imadm -n "__fish_imadm_using_subcommand audit; and not __fish_seen_subcommand_from log alerts export verify report checkpoint sinks" -f -a "export" -d 'Export a time range of the audit log as a verified, optionally signed report'
complete -c imadm -n "__fish_imadm_using_subcommand audit; and not __fish_seen_subcommand_from log alerts export verify report checkpoint sinks" -f -a "verify" -d 'Verify a report: its hash chain, the server\'s checkpoints and the SSH signature'
complete -c imadm -n "__fish_imadm_using_subcommand audit; and not __fish_seen_subcommand_from log alerts export verify report checkpoint sinks" -f -a "report" -d 'Summarise a period (logins, lockouts, MFA coverage, changes, alerts) as HTML, Markdown or JSON'
complete -c imadm -n "__fish_imadm_using_subcommand audit; and not __fish_seen_subcommand_from log alerts export verify report checkpoint sinks" -f -a "checkpoint" -d 'Show the checkpoint this profile pinned and the server\'s current one; --repin re-pins'
complete -c imadm -n "__fish_imadm_using_subcommand audit; and not __fish_seen_subcommand_from log alerts export verify report checkpoint sinks" -f -a "sinks" -d 'The audit sinks the server copies its log to, and how far each is behind'
complete -c imadm -n "__fish_imadm_using_subcommand audit; and __fish_seen_subcommand_from log" -l since -d 'Events at or after T' -r
complete -c imadm -n "__fish_imadm_using_subcommand audit; and __fish_seen_subcommand_from log" -l until -d 'Events at or before T' -r
complete -c imadm -n "__fish_imadm_using_subcommand audit; and __fish_seen_subcommand_from log" -l actor -d 'Only this actor (operator username or `<token name>#<id>`)' -r
complete -c imadm -n "__fish_imadm_using_subcommand audit; and __fish_seen_subcommand_from log" -l action -d 'Only this action, or a prefix ending in `.`' -r
complete -c imadm -n "__fish_imadm_using_subcommand audit; and __fish_seen_subcommand_from log" -l limit -d 'At most N events' -r
complete -c imadm -n "__fish_imadm_using_subcommand audit; and __fish_seen_subcommand_from log" -l profile -d 'Saved server profile to use' -r
complete -c imadm -n "__fish_imadm_using_subcommand audit; and __fish_seen_subcommand_from log" -l server -d 'Admin API base URL (https only)' -r
complete -c imadm -n "__fish_imadm_using_subcommand audit; and __fish_seen_subcommand_from log" -l app-id -d 'Lanying app id, sent as the `app_id` header' -r
complete -c imadm -n "__fish_imadm_using_subcommand audit; and __fish_seen_subcommand_from log" -l ca-cert -d 'Extra PEM CA certificate to trust' -r -F
complete -c imadm -n "__fish_imadm_using_subcommand audit; and __fish_seen_subcommand_from log" -s o -l output -d 'Output format [default: table on a terminal, tsv when piped]' -r -f -a "table\t''
json\t''
jsonl\t''
csv\t''
tsv\t''"
complete -c imadm -n "__fish_imadm_using_subcommand audit; and __fish_seen_subcommand_from log" -l config-dir -d 'Directory holding profiles [default: XDG config dir imadm/]' -r -F
complete -c imadm -n "__fish_imadm_using_subcommand audit; and __fish_seen_subcommand_from log" -l color -d 'When to use colour (NO_COLOR is honoured)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c imadm -n "__fish_imadm_using_subcommand audit; and __fish_seen_subcommand_from log" -l follow -d 'Keep waiting for new events (Ctrl-C to stop)'
complete -c imadm -n "__fish_imadm_using_subcommand audit; and __fish_seen_subcommand_from log" -l insecure-http -d 'Allow an http:// server URL, for a loopback address only'
complete -c imadm -n "__fish_imadm_using_subcommand audit; and __fish_seen_subcommand_from log" -l no-input -d 'Never prompt; fail with a hint instead (implied when stdin is not a terminal)'
complete -c imadm -n "__fish_imadm_using_subcommand audit; and __fish_seen_subcommand_from log" -s y -l yes -d 'Answer yes to confirmations'
complete -c imadm -n "__fish_imadm_using_subcommand audit; and __fish_seen_subcommand_from log" -s v -l verbose -d 'More diagnostics on stderr (repeat for more); never secrets'
complete -c imadm -n "__fish_imadm_using_subcommand audit; and __fish_seen_subcommand_from log" -s q -l quiet -d 'Fewer messages on stderr'
complete -c imadm -n "__fish_imadm_using_subcommand audit; and __fish_seen_subcommand_from log" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c imadm -n "__fish_imadm_using_subcommand audit; and __fish_seen_subcommand_from log" -s V -l version -d 'Print version'
complete -c imadm -n "__fish_imadm_using_subcommand audit; and __fish_seen_subcommand_from alerts" -l since -d 'Alerts at or after T (RFC 3339 or 24h/7d)' -r
complete -c imadm -n "__fish_imadm_using_subcommand audit; and __fish_seen_subcommand_from alerts" -l min-severity -d 'Only alerts of at least this severity' -r -f -a "low\t''
medium\t''
high\t''"
complete -c imadm -n "__fish_imadm_using_subcommand audit; and __fish_seen_subcommand_from alerts" -l state -d 'Only alerts in this state (repeatable; default: all)' -r -f -a "open\t''
acknowledged\t''
resolved\t''"
complete -c imadm -n "__fish_imadm_using_subcommand audit; and __fish_seen_subcommand_from alerts" -l fail-on -d 'Exit 9 when any alert at or above SEVERITY exists in the window' -r -f -a "low\t''
medium\t''
high\t''"
complete -c imadm -n "__fish_imadm_using_subcommand audit; and __fish_seen_subcommand_from alerts" -l profile -d 'Saved server profile to use' -r
complete -c imadm -n "__fish_imadm_using_subcommand audit; and __fish_seen_subcommand_from alerts" -l server -d 'Admin API base URL (https only)' -r
complete -c imadm -n "__fish_imadm_using_subcommand audit; and __fish_seen_subcommand_from alerts" -l app-id -d 'Lanying app id, sent as the `app_id` header' -r
complete -c imadm -n "__fish_imadm_using_subcommand audit; and __fish_seen_subcommand_from alerts" -l ca-cert -d 'Extra PEM CA certificate to trust' -r -F
complete -c imadm -n "__fish_imadm_using_subcommand audit; and __fish_seen_subcommand_from alerts" -s o -l output -d 'Output format [default: table on a terminal, tsv when piped]' -r -f -a "table\t''
json\t''
jsonl\t''
csv\t''
tsv\t''"
complete -c imadm -n "__fish_imadm_using_subcommand audit; and __fish_seen_subcommand_from alerts" -l config-dir -d 'Directory holding profiles [default: XDG config dir imadm/]' -r -F
complete -c imadm -n "__fish_imadm_using_subcommand audit; and __fish_seen_subcommand_from alerts" -l color -d 'When to use colour (NO_COLOR is honoured)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c imadm -n "__fish_imadm_using_subcommand audit; and __fish_seen_subcommand_from alerts" -l follow -d 'Keep waiting for new alerts (Ctrl-C to stop)'
complete -c imadm -n "__fish_imadm_using_subcommand audit; and __fish_seen_subcommand_from alerts" -l insecure-http -d 'Allow an http:// server URL, for a loopback address only'
complete -c imadm -n "__fish_imadm_using_subcommand audit; and __fish_seen_subcommand_from alerts" -l no-input -d 'Never prompt; fail with a hint instead (implied when stdin is not a terminal)'
complete -c imadm -n "__fish_imadm_using_subcommand audit; and __fish_seen_subcommand_from alerts" -s y -l yes -d 'Answer yes to confirmations'
complete -c imadm -n "__fish_imadm_using_subcommand audit; and __fish_seen_subcommand_from alerts" -s v -l verbose -d 'More diagnostics on stderr (repeat for more); never secrets'
complete -c imadm -n "__fish_imadm_using_subcommand audit; and __fish_seen_subcommand_from alerts" -s q -l quiet -d 'Fewer messages on stderr'
complete -c imadm -n "__fish_imadm_using_subcommand audit; and __fish_seen_subcommand_from alerts" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c imadm -n "__fish_imadm_using_subcommand audit; and __fish_seen_subcommand_from alerts" -s V -l version -d 'Print version'
complete -c imadm -n "__fish_imadm_using_subcommand audit; and __fish_seen_subcommand_from alerts" -f -a "ack" -d 'Acknowledge an open alert, with a note saying who looks at it and why'
complete -c imadm -n "__fish_imadm_using_subcommand audit; and __fish_seen_subcommand_from alerts" -f -a "resolve" -d 'Resolve an open or acknowledged alert, with a note saying how it was handled'
complete -c imadm -n "__fish_imadm_using_subcommand audit; and __fish_seen_subcommand_from export" -l since -d 'Start of the range: RFC 3339 or a duration before now (`30d`)' -r
complete -c imadm -n "__fish_imadm_using_subcommand audit; and __fish_seen_subcommand_from export" -l until -d 'End of the range: RFC 3339 or a duration before now' -r
complete -c imadm -n "__fish_imadm_using_subcommand audit; and __fish_seen_subcommand_from export" -l format -d 'Report format' -r -f -a "json\t''
csv\t'Events as CSV rows, header and checkpoints in `#` lines (docs/audit-report.md)'"
complete -c imadm -n "__fish_imadm_using_subcommand audit; and __fish_seen_subcommand_from export" -l out -d 'File to write (atomically); the signature goes to FILE.sig' -r -F
complete -c imadm -n "__fish_imadm_using_subcommand audit; and __fish_seen_subcommand_from export" -l sign-key -d 'OpenSSH Ed25519 private key to sign the report with [default: config sign_key]' -r -F
complete -c imadm -n "__fish_imadm_using_subcommand audit; and __fish_seen_subcommand_from export" -l signer -d 'Identity recorded for the signature, for allowed_signers matching [default: config signer]' -r
complete -c imadm -n "__fish_imadm_using_subcommand audit; and __fish_seen_subcommand_from export" -l profile -d 'Saved server profile to use' -r
complete -c imadm -n "__fish_imadm_using_subcommand audit; and __fish_seen_subcommand_from export" -l server -d 'Admin API base URL (https only)' -r
complete -c imadm -n "__fish_imadm_using_subcommand audit; and __fish_seen_subcommand_from export" -l app-id -d 'Lanying app id, sent as the `app_id` header' -r
complete -c imadm -n "__fish_imadm_using_subcommand audit; and __fish_seen_subcommand_from export" -l ca-cert -d 'Extra PEM CA certificate to trust' -r -F
complete -c imadm -n "__fish_imadm_using_subcommand audit; and __fish_seen_subcommand_from export" -s o -l output -d 'Output format [default: table on a terminal, tsv when piped]' -r -f -a "table\t''
json\t''
jsonl\t''
csv\t''
tsv\t''"
complete -c imadm -n "__fish_imadm_using_subcommand audit; and __fish_seen_subcommand_from export" -l config-dir -d 'Directory holding profiles [default: XDG config dir imadm/]' -r -F
complete -c imadm -n "__fish_imadm_using_subcommand audit; and __fish_seen_subcommand_from export" -l color -d 'When to use colour (NO_COLOR is honoured)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c imadm -n "__fish_imadm_using_subcommand audit; and __fish_seen_subcommand_from export" -l insecure-http -d 'Allow an http:// server URL, for a loopback address only'
complete -c imadm -n "__fish_imadm_using_subcommand audit; and __fish_seen_subcommand_from export" -l no-input -d 'Never prompt; fail with a hint instead (implied when stdin is not a terminal)'
complete -c imadm -n "__fish_imadm_using_subcommand audit; and __fish_seen_subcommand_from export" -s y -l yes -d 'Answer yes to confirmations'
complete -c imadm -n "__fish_imadm_using_subcommand audit; and __fish_seen_subcommand_from export" -s v -l verbose -d 'More diagnostics on stderr (repeat for more); never secrets'
complete -c imadm -n "__fish_imadm_using_subcommand audit; and __fish_seen_subcommand_from export" -s q -l quiet -d 'Fewer messages on stderr'
complete -c imadm -n "__fish_imadm_using_subcommand audit; and __fish_seen_subcommand_from export" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c imadm -n "__fish_imadm_using_subcommand audit; and __fish_seen_subcommand_from export" -s V -l version -d 'Print version'
complete -c imadm -n "__fish_imadm_using_subcommand audit; and __fish_seen_subcommand_from verify" -l signature -d 'Detached SSH signature [default: FILE.sig when it exists]' -r -F
complete -c imadm -n "__fish_imadm_using_subcommand audit; and __fish_seen_subcommand_from verify" -l allowed-signers -d 'OpenSSH allowed_signers file of who may sign reports' -r -F
complete -c imadm -n "__fish_imadm_using_subcommand audit; and __fish_seen_subcommand_from verify" -l server-key -d 'The server\'s audit key (`ssh-ed25519 AAAA...` or a file) [default: pinned in the profile]' -r
complete -c imadm -n "__fish_imadm_using_subcommand audit; and __fish_seen_subcommand_from verify" -l signer -d 'Require this signer identity [default: the one recorded in the report]' -r
complete -c imadm -n "__fish_imadm_using_subcommand audit; and __fish_seen_subcommand_from verify" -l profile -d 'Saved server profile to use' -r
complete -c imadm -n "__fish_imadm_using_subcommand audit; and __fish_seen_subcommand_from verify" -l server -d 'Admin API base URL (https only)' -r
complete -c imadm -n "__fish_imadm_using_subcommand audit; and __fish_seen_subcommand_from verify" -l app-id -d 'Lanying app id, sent as the `app_id` header' -r
complete -c imadm -n "__fish_imadm_using_subcommand audit; and __fish_seen_subcommand_from verify" -l ca-cert -d 'Extra PEM CA certificate to trust' -r -F
complete -c imadm -n "__fish_imadm_using_subcommand audit; and __fish_seen_subcommand_from verify" -s o -l output -d 'Output format [default: table on a terminal, tsv when piped]' -r -f -a "table\t''
json\t''
jsonl\t''
csv\t''
tsv\t''"
complete -c imadm -n "__fish_imadm_using_subcommand audit; and __fish_seen_subcommand_from verify" -l config-dir -d 'Directory holding profiles [default: XDG config dir imadm/]' -r -F
complete -c imadm -n "__fish_imadm_using_subcommand audit; and __fish_seen_subcommand_from verify" -l color -d 'When to use colour (NO_COLOR is honoured)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c imadm -n "__fish_imadm_using_subcommand audit; and __fish_seen_subcommand_from verify" -l insecure-http -d 'Allow an http:// server URL, for a loopback address only'
complete -c imadm -n "__fish_imadm_using_subcommand audit; and __fish_seen_subcommand_from verify" -l no-input -d 'Never prompt; fail with a hint instead (implied when stdin is not a terminal)'
complete -c imadm -n "__fish_imadm_using_subcommand audit; and __fish_seen_subcommand_from verify" -s y -l yes -d 'Answer yes to confirmations'
complete -c imadm -n "__fish_imadm_using_subcommand audit; and __fish_seen_subcommand_from verify" -s v -l verbose -d 'More diagnostics on stderr (repeat for more); never secrets'
complete -c imadm -n "__fish_imadm_using_subcommand audit; and __fish_seen_subcommand_from verify" -s q -l quiet -d 'Fewer messages on stderr'
complete -c imadm -n "__fish_imadm_using_subcommand audit; and __fish_seen_subcommand_from verify" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c imadm -n "__fish_imadm_using_subcommand audit; and __fish_seen_subcommand_from verify" -s V -l version -d 'Print version'
complete -c imadm -n "__fish_imadm_using_subcommand audit; and __fish_seen_subcommand_from report" -l period -d 'How far back the report goes (`30d`, `24h`)' -r
complete -c imadm -n "__fish_imadm_using_subcommand audit; and __fish_seen_subcommand_from report" -l out -d 'File to write (atomically); the signature goes to FILE.sig' -r -F
complete -c imadm -n "__fish_imadm_using_subcommand audit; and __fish_seen_subcommand_from report" -l format -d 'Report format [default: from the extension of --out]' -r -f -a "html\t''
md\t''
json\t''"
complete -c imadm -n "__fish_imadm_using_subcommand audit; and __fish_seen_subcommand_from report" -l sign-key -d 'OpenSSH Ed25519 private key to sign the report with [default: config sign_key]' -r -F
complete -c imadm -n "__fish_imadm_using_subcommand audit; and __fish_seen_subcommand_from report" -l signer -d 'Identity for the signature, for allowed_signers matching [default: config signer]' -r
complete -c imadm -n "__fish_imadm_using_subcommand audit; and __fish_seen_subcommand_from report" -l profile -d 'Saved server profile to use' -r
complete -c imadm -n "__fish_imadm_using_subcommand audit; and __fish_seen_subcommand_from report" -l server -d 'Admin API base URL (https only)' -r
complete -c imadm -n "__fish_imadm_using_subcommand audit; and __fish_seen_subcommand_from report" -l app-id -d 'Lanying app id, sent as the `app_id` header' -r
complete -c imadm -n "__fish_imadm_using_subcommand audit; and __fish_seen_subcommand_from report" -l ca-cert -d 'Extra PEM CA certificate to trust' -r -F
complete -c imadm -n "__fish_imadm_using_subcommand audit; and __fish_seen_subcommand_from report" -s o -l output -d 'Output format [default: table on a terminal, tsv when piped]' -r -f -a "table\t''
json\t''
jsonl\t''
csv\t''
tsv\t''"
complete -c imadm -n "__fish_imadm_using_subcommand audit; and __fish_seen_subcommand_from report" -l config-dir -d 'Directory holding profiles [default: XDG config dir imadm/]' -r -F
complete -c imadm -n "__fish_imadm_using_subcommand audit; and __fish_seen_subcommand_from report" -l color -d 'When to use colour (NO_COLOR is honoured)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c imadm -n "__fish_imadm_using_subcommand audit; and __fish_seen_subcommand_from report" -l insecure-http -d 'Allow an http:// server URL, for a loopback address only'
complete -c imadm -n "__fish_imadm_using_subcommand audit; and __fish_seen_subcommand_from report" -l no-input -d 'Never prompt; fail with a hint instead (implied when stdin is not a terminal)'
complete -c imadm -n "__fish_imadm_using_subcommand audit; and __fish_seen_subcommand_from report" -s y -l yes -d 'Answer yes to confirmations'
complete -c imadm -n "__fish_imadm_using_subcommand audit; and __fish_seen_subcommand_from report" -s v -l verbose -d 'More diagnostics on stderr (repeat for more); never secrets'
complete -c imadm -n "__fish_imadm_using_subcommand audit; and __fish_seen_subcommand_from report" -s q -l quiet -d 'Fewer messages on stderr'
complete -c imadm -n "__fish_imadm_using_subcommand audit; and __fish_seen_subcommand_from report" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c imadm -n "__fish_imadm_using_subcommand audit; and __fish_seen_subcommand_from report" -s V -l version -d 'Print version'
complete -c imadm -n "__fish_imadm_using_subcommand audit; and __fish_seen_subcommand_from checkpoint" -l profile -d 'Saved server profile to use' -r
complete -c imadm -n "__fish_imadm_using_subcommand audit; and __fish_seen_subcommand_from checkpoint" -l server -d 'Admin API base URL (https only)' -r
complete -c imadm -n "__fish_imadm_using_subcommand audit; and __fish_seen_subcommand_from checkpoint" -l app-id -d 'Lanying app id, sent as the `app_id` header' -r
complete -c imadm -n "__fish_imadm_using_subcommand audit; and __fish_seen_subcommand_from checkpoint" -l ca-cert -d 'Extra PEM CA certificate to trust' -r -F
complete -c imadm -n "__fish_imadm_using_subcommand audit; and __fish_seen_subcommand_from checkpoint" -s o -l output -d 'Output format [default: table on a terminal, tsv when piped]' -r -f -a "table\t''
json\t''
jsonl\t''
csv\t''
tsv\t''"
complete -c imadm -n "__fish_imadm_using_subcommand audit; and __fish_seen_subcommand_from checkpoint" -l config-dir -d 'Directory holding profiles [default: XDG config dir imadm/]' -r -F
complete -c imadm -n "__fish_imadm_using_subcommand audit; and __fish_seen_subcommand_from checkpoint" -l color -d 'When to use colour (NO_COLOR is honoured)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c imadm -n "__fish_imadm_using_subcommand audit; and __fish_seen_subcommand_from checkpoint" -l repin -d 'Pin the server\'s current checkpoint in place of the pinned one (asks unless --yes), after a restore its administrator accepted as a fork (--accept-fork)'
complete -c imadm -n "__fish_imadm_using_subcommand audit; and __fish_seen_subcommand_from checkpoint" -l insecure-http -d 'Allow an http:// server URL, for a loopback address only'
complete -c imadm -n "__fish_imadm_using_subcommand audit; and __fish_seen_subcommand_from checkpoint" -l no-input -d 'Never prompt; fail with a hint instead (implied when stdin is not a terminal)'
complete -c imadm -n "__fish_imadm_using_subcommand audit; and __fish_seen_subcommand_from checkpoint" -s y -l yes -d 'Answer yes to confirmations'
complete -c imadm -n "__fish_imadm_using_subcommand audit; and __fish_seen_subcommand_from checkpoint" -s v -l verbose -d 'More diagnostics on stderr (repeat for more); never secrets'
complete -c imadm -n "__fish_imadm_using_subcommand audit; and __fish_seen_subcommand_from checkpoint" -s q -l quiet -d 'Fewer messages on stderr'
complete -c imadm -n "__fish_imadm_using_subcommand audit; and __fish_seen_subcommand_from checkpoint" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c imadm -n "__fish_imadm_using_subcommand audit; and __fish_seen_subcommand_from checkpoint" -s V -l version -d 'Print version'
complete -c imadm -n "__fish_imadm_using_subcommand audit; and __fish_seen_subcommand_from sinks" -l profile -d 'Saved server profile to use' -r
complete -c imadm -n "__fish_imadm_using_subcommand audit; and __fish_seen_subcommand_from sinks" -l server -d 'Admin API base URL (https only)' -r
complete -c imadm -n "__fish_imadm_using_subcommand audit; and __fish_seen_subcommand_from sinks" -l app-id -d 'Lanying app id, sent as the `app_id` header' -r
complete -c imadm -n "__fish_imadm_using_subcommand audit; and __fish_seen_subcommand_from sinks" -l ca-cert -d 'Extra PEM CA certificate to trust' -r -F
complete -c imadm -n "__fish_imadm_using_subcommand audit; and __fish_seen_subcommand_from sinks" -s o -l output -d 'Output format [default: table on a terminal, tsv when piped]' -r -f -a "table\t''
json\t''
jsonl\t''
csv\t''
tsv\t''"
complete -c imadm -n "__fish_imadm_using_subcommand audit; and __fish_seen_subcommand_from sinks" -l config-dir -d 'Directory holding profiles [default: XDG config dir imadm/]' -r -F
complete -c imadm -n "__fish_imadm_using_subcommand audit; and __fish_seen_subcommand_from sinks" -l color -d 'When to use colour (NO_COLOR is honoured)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c imadm -n "__fish_imadm_using_subcommand audit; and __fish_seen_subcommand_from sinks" -l insecure-http -d 'Allow an http:// server URL, for a loopback address only'
complete -c imadm -n "__fish_imadm_using_subcommand audit; and __fish_seen_subcommand_from sinks" -l no-input -d 'Never prompt; fail with a hint instead (implied when stdin is not a terminal)'
complete -c imadm -n "__fish_imadm_using_subcommand audit; and __fish_seen_subcommand_from sinks" -s y -l yes -d 'Answer yes to confirmations'
complete -c imadm -n "__fish_imadm_using_subcommand audit; and __fish_seen_subcommand_from sinks" -s v -l verbose -d 'More diagnostics on stderr (repeat for more); never secrets'
complete -c imadm -n "__fish_imadm_using_subcommand audit; and __fish_seen_subcommand_from sinks" -s q -l quiet -d 'Fewer messages on stderr'
complete -c imadm -n "__fish_imadm_using_subcommand audit; and __fish_seen_subcommand_from sinks" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c imadm -n "__fish_imadm_using_subcommand audit; and __fish_seen_subcommand_from sinks" -s V -l version -d 'Print version'
complete -c imadm -n "__fish_imadm_using_subcommand access; and not __fish_seen_subcommand_from review" -l profile -d 'Saved server profile to use' -r
complete -c imadm -n "__fish_imadm_using_subcommand access; and not __fish_seen_subcommand_from review" -l server -d 'Admin API base URL (https only)' -r
complete -c imadm -n "__fish_imadm_using_subcommand access; and not __fish_seen_subcommand_from review" -l app-id -d 'Lanying app id, sent as the `app_id` header' -r
complete -c imadm -n "__fish_imadm_using_subcommand access; and not __fish_seen_subcommand_from review" -l ca-cert -d 'Extra PEM CA certificate to trust' -r -F
complete -c imadm -n "__fish_imadm_using_subcommand access; and not __fish_seen_subcommand_from review" -s o -l output -d 'Output format [default: table on a terminal, tsv when piped]' -r -f -a "table\t''
json\t''
jsonl\t''
csv\t''
tsv\t''"
complete -c imadm -n "__fish_imadm_using_subcommand access; and not __fish_seen_subcommand_from review" -l config-dir -d 'Directory holding profiles [default: XDG config dir imadm/]' -r -F
complete -c imadm -n "__fish_imadm_using_subcommand access; and not __fish_seen_subcommand_from review" -l color -d 'When to use colour (NO_COLOR is honoured)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c imadm -n "__fish_imadm_using_subcommand access; and not __fish_seen_subcommand_from review" -l insecure-http -d 'Allow an http:// server URL, for a loopback address only'
complete -c imadm -n "__fish_imadm_using_subcommand access; and not __fish_seen_subcommand_from review" -l no-input -d 'Never prompt; fail with a hint instead (implied when stdin is not a terminal)'
complete -c imadm -n "__fish_imadm_using_subcommand access; and not __fish_seen_subcommand_from review" -s y -l yes -d 'Answer yes to confirmations'
complete -c imadm -n "__fish_imadm_using_subcommand access; and not __fish_seen_subcommand_from review" -s v -l verbose -d 'More diagnostics on stderr (repeat for more); never secrets'
complete -c imadm -n "__fish_imadm_using_subcommand access; and not __fish_seen_subcommand_from review" -s q -l quiet -d 'Fewer messages on stderr'
complete -c imadm -n "__fish_imadm_using_subcommand access; and not __fish_seen_subcommand_from review" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c imadm -n "__fish_imadm_using_subcommand access; and not __fish_seen_subcommand_from review" -s V -l version -d 'Print version'
complete -c imadm -n "__fish_imadm_using_subcommand access; and not __fish_seen_subcommand_from review" -f -a "review" -d 'Every operator and service token with roles, permissions, last use and flags'
complete -c imadm -n "__fish_imadm_using_subcommand access; and __fish_seen_subcommand_from review" -l dormant-days -d 'Days without a login or use after which a principal is flagged dormant' -r
complete -c imadm -n "__fish_imadm_using_subcommand access; and __fish_seen_subcommand_from review" -l out -d 'Write the review to FILE (atomically): .html, .md or .json' -r -F
complete -c imadm -n "__fish_imadm_using_subcommand access; and __fish_seen_subcommand_from review" -l sign-key -d 'OpenSSH Ed25519 key to sign with (FILE.sig) [default: config sign_key]' -r -F
complete -c imadm -n "__fish_imadm_using_subcommand access; and __fish_seen_subcommand_from review" -l reviewer -d 'Who reviewed, as recorded in the attestation' -r
complete -c imadm -n "__fish_imadm_using_subcommand access; and __fish_seen_subcommand_from review" -l decisions -d 'The reviewer\'s edited copy of the JSON review, "decision": "keep"|"revoke" per line' -r -F
complete -c imadm -n "__fish_imadm_using_subcommand access; and __fish_seen_subcommand_from review" -l otp -d 'Current TOTP code for step-up MFA (prompted if needed); prefer IMADM_OTP in scripts' -r
complete -c imadm -n "__fish_imadm_using_subcommand access; and __fish_seen_subcommand_from review" -l profile -d 'Saved server profile to use' -r
complete -c imadm -n "__fish_imadm_using_subcommand access; and __fish_seen_subcommand_from review" -l server -d 'Admin API base URL (https only)' -r
complete -c imadm -n "__fish_imadm_using_subcommand access; and __fish_seen_subcommand_from review" -l app-id -d 'Lanying app id, sent as the `app_id` header' -r
complete -c imadm -n "__fish_imadm_using_subcommand access; and __fish_seen_subcommand_from review" -l ca-cert -d 'Extra PEM CA certificate to trust' -r -F
complete -c imadm -n "__fish_imadm_using_subcommand access; and __fish_seen_subcommand_from review" -s o -l output -d 'Output format [default: table on a terminal, tsv when piped]' -r -f -a "table\t''
json\t''
jsonl\t''
csv\t''
tsv\t''"
complete -c imadm -n "__fish_imadm_using_subcommand access; and __fish_seen_subcommand_from review" -l config-dir -d 'Directory holding profiles [default: XDG config dir imadm/]' -r -F
complete -c imadm -n "__fish_imadm_using_subcommand access; and __fish_seen_subcommand_from review" -l color -d 'When to use colour (NO_COLOR is honoured)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c imadm -n "__fish_imadm_using_subcommand access; and __fish_seen_subcommand_from review" -l attest -d 'Sign the JSON review (--out FILE.json, or --decisions) and record the attestation'
complete -c imadm -n "__fish_imadm_using_subcommand access; and __fish_seen_subcommand_from review" -l apply -d 'Make the revocations of --decisions (without it: a dry run)'
complete -c imadm -n "__fish_imadm_using_subcommand access; and __fish_seen_subcommand_from review" -l web -d 'Approve with a passkey in the browser instead of a TOTP code (prints the URL; opens it when there is a display)'
complete -c imadm -n "__fish_imadm_using_subcommand access; and __fish_seen_subcommand_from review" -l insecure-http -d 'Allow an http:// server URL, for a loopback address only'
complete -c imadm -n "__fish_imadm_using_subcommand access; and __fish_seen_subcommand_from review" -l no-input -d 'Never prompt; fail with a hint instead (implied when stdin is not a terminal)'
complete -c imadm -n "__fish_imadm_using_subcommand access; and __fish_seen_subcommand_from review" -s y -l yes -d 'Answer yes to confirmations'
complete -c imadm -n "__fish_imadm_using_subcommand access; and __fish_seen_subcommand_from review" -s v -l verbose -d 'More diagnostics on stderr (repeat for more); never secrets'
complete -c imadm -n "__fish_imadm_using_subcommand access; and __fish_seen_subcommand_from review" -s q -l quiet -d 'Fewer messages on stderr'
complete -c imadm -n "__fish_imadm_using_subcommand access; and __fish_seen_subcommand_from review" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c imadm -n "__fish_imadm_using_subcommand access; and __fish_seen_subcommand_from review" -s V -l version -d 'Print version'
complete -c imadm -n "__fish_imadm_using_subcommand incident; and not __fish_seen_subcommand_from open list show close scope contain notify report" -l profile -d 'Saved server profile to use' -r
complete -c imadm -n "__fish_imadm_using_subcommand incident; and not __fish_seen_subcommand_from open list show close scope contain notify report" -l server -d 'Admin API base URL (https only)' -r
complete -c imadm -n "__fish_imadm_using_subcommand incident; and not __fish_seen_subcommand_from open list show close scope contain notify report" -l app-id -d 'Lanying app id, sent as the `app_id` header' -r
complete -c imadm -n "__fish_imadm_using_subcommand incident; and not __fish_seen_subcommand_from open list show close scope contain notify report" -l ca-cert -d 'Extra PEM CA certificate to trust' -r -F
complete -c imadm -n "__fish_imadm_using_subcommand incident; and not __fish_seen_subcommand_from open list show close scope contain notify report" -s o -l output -d 'Output format [default: table on a terminal, tsv when piped]' -r -f -a "table\t''
json\t''
jsonl\t''
csv\t''
tsv\t''"
complete -c imadm -n "__fish_imadm_using_subcommand incident; and not __fish_seen_subcommand_from open list show close scope contain notify report" -l config-dir -d 'Directory holding profiles [default: XDG config dir imadm/]' -r -F
complete -c imadm -n "__fish_imadm_using_subcommand incident; and not __fish_seen_subcommand_from open list show close scope contain notify report" -l color -d 'When to use colour (NO_COLOR is honoured)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c imadm -n "__fish_imadm_using_subcommand incident; and not __fish_seen_subcommand_from open list show close scope contain notify report" -l insecure-http -d 'Allow an http:// server URL, for a loopback address only'
complete -c imadm -n "__fish_imadm_using_subcommand incident; and not __fish_seen_subcommand_from open list show close scope contain notify report" -l no-input -d 'Never prompt; fail with a hint instead (implied when stdin is not a terminal)'
complete -c imadm -n "__fish_imadm_using_subcommand incident; and not __fish_seen_subcommand_from open list show close scope contain notify report" -s y -l yes -d 'Answer yes to confirmations'
complete -c imadm -n "__fish_imadm_using_subcommand incident; and not __fish_seen_subcommand_from open list show close scope contain notify report" -s v -l verbose -d 'More diagnostics on stderr (repeat for more); never secrets'
complete -c imadm -n "__fish_imadm_using_subcommand incident; and not __fish_seen_subcommand_from open list show close scope contain notify report" -s q -l quiet -d 'Fewer messages on stderr'
complete -c imadm -n "__fish_imadm_using_subcommand incident; and not __fish_seen_subcommand_from open list show close scope contain notify report" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c imadm -n "__fish_imadm_using_subcommand incident; and not __fish_seen_subcommand_from open list show close scope contain notify report" -s V -l version -d 'Print version'
complete -c imadm -n "__fish_imadm_using_subcommand incident; and not __fish_seen_subcommand_from open list show close scope contain notify report" -f -a "open" -d 'Open an incident: the record every later step is written to'
complete -c imadm -n "__fish_imadm_using_subcommand incident; and not __fish_seen_subcommand_from open list show close scope contain notify report" -f -a "list" -d 'List incidents, open and closed'
complete -c imadm -n "__fish_imadm_using_subcommand incident; and not __fish_seen_subcommand_from open list show close scope contain notify report" -f -a "show" -d 'One incident with its timeline'
complete -c imadm -n "__fish_imadm_using_subcommand incident; and not __fish_seen_subcommand_from open list show close scope contain notify report" -f -a "close" -d 'Close an incident with a summary; it takes no further steps'
complete -c imadm -n "__fish_imadm_using_subcommand incident; and not __fish_seen_subcommand_from open list show close scope contain notify report" -f -a "scope" -d 'What a principal did in a window, and whose data it read or exported'
complete -c imadm -n "__fish_imadm_using_subcommand incident; and not __fish_seen_subcommand_from open list show close scope contain notify report" -f -a "contain" -d 'End sessions, revoke tokens, disable operators, kick IM users (dry run first)'
complete -c imadm -n "__fish_imadm_using_subcommand incident; and not __fish_seen_subcommand_from open list show close scope contain notify report" -f -a "notify" -d 'Send each affected IM user a message from a template (resumable, rate-limited)'
complete -c imadm -n "__fish_imadm_using_subcommand incident; and not __fish_seen_subcommand_from open list show close scope contain notify report" -f -a "report" -d 'Write the incident report (timeline, GDPR art. 33 fields), signed if asked'
complete -c imadm -n "__fish_imadm_using_subcommand incident; and __fish_seen_subcommand_from open" -l title -d 'What happened, on one line (1-200 characters)' -r
complete -c imadm -n "__fish_imadm_using_subcommand incident; and __fish_seen_subcommand_from open" -l severity -d 'How bad it is' -r -f -a "low\t''
medium\t''
high\t''
critical\t''"
complete -c imadm -n "__fish_imadm_using_subcommand incident; and __fish_seen_subcommand_from open" -l profile -d 'Saved server profile to use' -r
complete -c imadm -n "__fish_imadm_using_subcommand incident; and __fish_seen_subcommand_from open" -l server -d 'Admin API base URL (https only)' -r
complete -c imadm -n "__fish_imadm_using_subcommand incident; and __fish_seen_subcommand_from open" -l app-id -d 'Lanying app id, sent as the `app_id` header' -r
complete -c imadm -n "__fish_imadm_using_subcommand incident; and __fish_seen_subcommand_from open" -l ca-cert -d 'Extra PEM CA certificate to trust' -r -F
complete -c imadm -n "__fish_imadm_using_subcommand incident; and __fish_seen_subcommand_from open" -s o -l output -d 'Output format [default: table on a terminal, tsv when piped]' -r -f -a "table\t''
json\t''
jsonl\t''
csv\t''
tsv\t''"
complete -c imadm -n "__fish_imadm_using_subcommand incident; and __fish_seen_subcommand_from open" -l config-dir -d 'Directory holding profiles [default: XDG config dir imadm/]' -r -F
complete -c imadm -n "__fish_imadm_using_subcommand incident; and __fish_seen_subcommand_from open" -l color -d 'When to use colour (NO_COLOR is honoured)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c imadm -n "__fish_imadm_using_subcommand incident; and __fish_seen_subcommand_from open" -l insecure-http -d 'Allow an http:// server URL, for a loopback address only'
complete -c imadm -n "__fish_imadm_using_subcommand incident; and __fish_seen_subcommand_from open" -l no-input -d 'Never prompt; fail with a hint instead (implied when stdin is not a terminal)'
complete -c imadm -n "__fish_imadm_using_subcommand incident; and __fish_seen_subcommand_from open" -s y -l yes -d 'Answer yes to confirmations'
complete -c imadm -n "__fish_imadm_using_subcommand incident; and __fish_seen_subcommand_from open" -s v -l verbose -d 'More diagnostics on stderr (repeat for more); never secrets'
complete -c imadm -n "__fish_imadm_using_subcommand incident; and __fish_seen_subcommand_from open" -s q -l quiet -d 'Fewer messages on stderr'
complete -c imadm -n "__fish_imadm_using_subcommand incident; and __fish_seen_subcommand_from open" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c imadm -n "__fish_imadm_using_subcommand incident; and __fish_seen_subcommand_from open" -s V -l version -d 'Print version'
complete -c imadm -n "__fish_imadm_using_subcommand incident; and __fish_seen_subcommand_from list" -l profile -d 'Saved server profile to use' -r
complete -c imadm -n "__fish_imadm_using_subcommand incident; and __fish_seen_subcommand_from list" -l server -d 'Admin API base URL (https only)' -r
complete -c imadm -n "__fish_imadm_using_subcommand incident; and __fish_seen_subcommand_from list" -l app-id -d 'Lanying app id, sent as the `app_id` header' -r
complete -c imadm -n "__fish_imadm_using_subcommand incident; and __fish_seen_subcommand_from list" -l ca-cert -d 'Extra PEM CA certificate to trust' -r -F
complete -c imadm -n "__fish_imadm_using_subcommand incident; and __fish_seen_subcommand_from list" -s o -l output -d 'Output format [default: table on a terminal, tsv when piped]' -r -f -a "table\t''
json\t''
jsonl\t''
csv\t''
tsv\t''"
complete -c imadm -n "__fish_imadm_using_subcommand incident; and __fish_seen_subcommand_from list" -l config-dir -d 'Directory holding profiles [default: XDG config dir imadm/]' -r -F
complete -c imadm -n "__fish_imadm_using_subcommand incident; and __fish_seen_subcommand_from list" -l color -d 'When to use colour (NO_COLOR is honoured)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c imadm -n "__fish_imadm_using_subcommand incident; and __fish_seen_subcommand_from list" -l insecure-http -d 'Allow an http:// server URL, for a loopback address only'
complete -c imadm -n "__fish_imadm_using_subcommand incident; and __fish_seen_subcommand_from list" -l no-input -d 'Never prompt; fail with a hint instead (implied when stdin is not a terminal)'
complete -c imadm -n "__fish_imadm_using_subcommand incident; and __fish_seen_subcommand_from list" -s y -l yes -d 'Answer yes to confirmations'
complete -c imadm -n "__fish_imadm_using_subcommand incident; and __fish_seen_subcommand_from list" -s v -l verbose -d 'More diagnostics on stderr (repeat for more); never secrets'
complete -c imadm -n "__fish_imadm_using_subcommand incident; and __fish_seen_subcommand_from list" -s q -l quiet -d 'Fewer messages on stderr'
complete -c imadm -n "__fish_imadm_using_subcommand incident; and __fish_seen_subcommand_from list" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c imadm -n "__fish_imadm_using_subcommand incident; and __fish_seen_subcommand_from list" -s V -l version -d 'Print version'
complete -c imadm -n "__fish_imadm_using_subcommand incident; and __fish_seen_subcommand_from show" -l profile -d 'Saved server profile to use' -r
complete -c imadm -n "__fish_imadm_using_subcommand incident; and __fish_seen_subcommand_from show" -l server -d 'Admin API base URL (https only)' -r
complete -c imadm -n "__fish_imadm_using_subcommand incident; and __fish_seen_subcommand_from show" -l app-id -d 'Lanying app id, sent as the `app_id` header' -r
complete -c imadm -n "__fish_imadm_using_subcommand incident; and __fish_seen_subcommand_from show" -l ca-cert -d 'Extra PEM CA certificate to trust' -r -F
complete -c imadm -n "__fish_imadm_using_subcommand incident; and __fish_seen_subcommand_from show" -s o -l output -d 'Output format [default: table on a terminal, tsv when piped]' -r -f -a "table\t''
json\t''
jsonl\t''
csv\t''
tsv\t''"
complete -c imadm -n "__fish_imadm_using_subcommand incident; and __fish_seen_subcommand_from show" -l config-dir -d 'Directory holding profiles [default: XDG config dir imadm/]' -r -F
complete -c imadm -n "__fish_imadm_using_subcommand incident; and __fish_seen_subcommand_from show" -l color -d 'When to use colour (NO_COLOR is honoured)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c imadm -n "__fish_imadm_using_subcommand incident; and __fish_seen_subcommand_from show" -l insecure-http -d 'Allow an http:// server URL, for a loopback address only'
complete -c imadm -n "__fish_imadm_using_subcommand incident; and __fish_seen_subcommand_from show" -l no-input -d 'Never prompt; fail with a hint instead (implied when stdin is not a terminal)'
complete -c imadm -n "__fish_imadm_using_subcommand incident; and __fish_seen_subcommand_from show" -s y -l yes -d 'Answer yes to confirmations'
complete -c imadm -n "__fish_imadm_using_subcommand incident; and __fish_seen_subcommand_from show" -s v -l verbose -d 'More diagnostics on stderr (repeat for more); never secrets'
complete -c imadm -n "__fish_imadm_using_subcommand incident; and __fish_seen_subcommand_from show" -s q -l quiet -d 'Fewer messages on stderr'
complete -c imadm -n "__fish_imadm_using_subcommand incident; and __fish_seen_subcommand_from show" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c imadm -n "__fish_imadm_using_subcommand incident; and __fish_seen_subcommand_from show" -s V -l version -d 'Print version'
complete -c imadm -n "__fish_imadm_using_subcommand incident; and __fish_seen_subcommand_from close" -l summary -d 'What happened and what was done (1-4000 characters)' -r
complete -c imadm -n "__fish_imadm_using_subcommand incident; and __fish_seen_subcommand_from close" -l profile -d 'Saved server profile to use' -r
complete -c imadm -n "__fish_imadm_using_subcommand incident; and __fish_seen_subcommand_from close" -l server -d 'Admin API base URL (https only)' -r
complete -c imadm -n "__fish_imadm_using_subcommand incident; and __fish_seen_subcommand_from close" -l app-id -d 'Lanying app id, sent as the `app_id` header' -r
complete -c imadm -n "__fish_imadm_using_subcommand incident; and __fish_seen_subcommand_from close" -l ca-cert -d 'Extra PEM CA certificate to trust' -r -F
complete -c imadm -n "__fish_imadm_using_subcommand incident; and __fish_seen_subcommand_from close" -s o -l output -d 'Output format [default: table on a terminal, tsv when piped]' -r -f -a "table\t''
json\t''
jsonl\t''
csv\t''
tsv\t''"
complete -c imadm -n "__fish_imadm_using_subcommand incident; and __fish_seen_subcommand_from close" -l config-dir -d 'Directory holding profiles [default: XDG config dir imadm/]' -r -F
complete -c imadm -n "__fish_imadm_using_subcommand incident; and __fish_seen_subcommand_from close" -l color -d 'When to use colour (NO_COLOR is honoured)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c imadm -n "__fish_imadm_using_subcommand incident; and __fish_seen_subcommand_from close" -l insecure-http -d 'Allow an http:// server URL, for a loopback address only'
complete -c imadm -n "__fish_imadm_using_subcommand incident; and __fish_seen_subcommand_from close" -l no-input -d 'Never prompt; fail with a hint instead (implied when stdin is not a terminal)'
complete -c imadm -n "__fish_imadm_using_subcommand incident; and __fish_seen_subcommand_from close" -s y -l yes -d 'Answer yes to confirmations'
complete -c imadm -n "__fish_imadm_using_subcommand incident; and __fish_seen_subcommand_from close" -s v -l verbose -d 'More diagnostics on stderr (repeat for more); never secrets'
complete -c imadm -n "__fish_imadm_using_subcommand incident; and __fish_seen_subcommand_from close" -s q -l quiet -d 'Fewer messages on stderr'
complete -c imadm -n "__fish_imadm_using_subcommand incident; and __fish_seen_subcommand_from close" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c imadm -n "__fish_imadm_using_subcommand incident; and __fish_seen_subcommand_from close" -s V -l version -d 'Print version'
complete -c imadm -n "__fish_imadm_using_subcommand incident; and __fish_seen_subcommand_from scope" -l incident -d 'Record the query\'s counts on this incident\'s timeline' -r
complete -c imadm -n "__fish_imadm_using_subcommand incident; and __fish_seen_subcommand_from scope" -l actor -d 'An operator: its sessions and its service tokens' -r
complete -c imadm -n "__fish_imadm_using_subcommand incident; and __fish_seen_subcommand_from scope" -l token -d 'A service token, by id (see `imadm token list`)' -r
complete -c imadm -n "__fish_imadm_using_subcommand incident; and __fish_seen_subcommand_from scope" -l source -d 'A source address, as the audit log records it' -r
complete -c imadm -n "__fish_imadm_using_subcommand incident; and __fish_seen_subcommand_from scope" -l since -d 'Start of the window (RFC 3339, or 24h/7d ago)' -r
complete -c imadm -n "__fish_imadm_using_subcommand incident; and __fish_seen_subcommand_from scope" -l until -d 'End of the window (default: now)' -r
complete -c imadm -n "__fish_imadm_using_subcommand incident; and __fish_seen_subcommand_from scope" -l out -d 'Write the affected users as CSV (user_id,name,exposure), mode 0600' -r -F
complete -c imadm -n "__fish_imadm_using_subcommand incident; and __fish_seen_subcommand_from scope" -l profile -d 'Saved server profile to use' -r
complete -c imadm -n "__fish_imadm_using_subcommand incident; and __fish_seen_subcommand_from scope" -l server -d 'Admin API base URL (https only)' -r
complete -c imadm -n "__fish_imadm_using_subcommand incident; and __fish_seen_subcommand_from scope" -l app-id -d 'Lanying app id, sent as the `app_id` header' -r
complete -c imadm -n "__fish_imadm_using_subcommand incident; and __fish_seen_subcommand_from scope" -l ca-cert -d 'Extra PEM CA certificate to trust' -r -F
complete -c imadm -n "__fish_imadm_using_subcommand incident; and __fish_seen_subcommand_from scope" -s o -l output -d 'Output format [default: table on a terminal, tsv when piped]' -r -f -a "table\t''
json\t''
jsonl\t''
csv\t''
tsv\t''"
complete -c imadm -n "__fish_imadm_using_subcommand incident; and __fish_seen_subcommand_from scope" -l config-dir -d 'Directory holding profiles [default: XDG config dir imadm/]' -r -F
complete -c imadm -n "__fish_imadm_using_subcommand incident; and __fish_seen_subcommand_from scope" -l color -d 'When to use colour (NO_COLOR is honoured)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c imadm -n "__fish_imadm_using_subcommand incident; and __fish_seen_subcommand_from scope" -l insecure-http -d 'Allow an http:// server URL, for a loopback address only'
complete -c imadm -n "__fish_imadm_using_subcommand incident; and __fish_seen_subcommand_from scope" -l no-input -d 'Never prompt; fail with a hint instead (implied when stdin is not a terminal)'
complete -c imadm -n "__fish_imadm_using_subcommand incident; and __fish_seen_subcommand_from scope" -s y -l yes -d 'Answer yes to confirmations'
complete -c imadm -n "__fish_imadm_using_subcommand incident; and __fish_seen_subcommand_from scope" -s v -l verbose -d 'More diagnostics on stderr (repeat for more); never secrets'
complete -c imadm -n "__fish_imadm_using_subcommand incident; and __fish_seen_subcommand_from scope" -s q -l quiet -d 'Fewer messages on stderr'
complete -c imadm -n "__fish_imadm_using_subcommand incident; and __fish_seen_subcommand_from scope" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c imadm -n "__fish_imadm_using_subcommand incident; and __fish_seen_subcommand_from scope" -s V -l version -d 'Print version'
complete -c imadm -n "__fish_imadm_using_subcommand incident; and __fish_seen_subcommand_from contain" -l incident -d 'The incident this containment belongs to' -r
complete -c imadm -n "__fish_imadm_using_subcommand incident; and __fish_seen_subcommand_from contain" -l revoke-sessions -d 'End the sessions of every operator (`all`) or of these operators' -r
complete -c imadm -n "__fish_imadm_using_subcommand incident; and __fish_seen_subcommand_from contain" -l revoke-tokens -d 'Revoke every live service token (`all`) or these, by id' -r
complete -c imadm -n "__fish_imadm_using_subcommand incident; and __fish_seen_subcommand_from contain" -l disable-operators -d 'Disable these operators (their sessions end too)' -r
complete -c imadm -n "__fish_imadm_using_subcommand incident; and __fish_seen_subcommand_from contain" -l kick-users -d 'Log the IM users listed in FILE out of every device' -r -F
complete -c imadm -n "__fish_imadm_using_subcommand incident; and __fish_seen_subcommand_from contain" -l reset-user-passwords -d 'Replace the passwords of the IM users listed in FILE with random ones' -r -F
complete -c imadm -n "__fish_imadm_using_subcommand incident; and __fish_seen_subcommand_from contain" -l otp -d 'Current TOTP code for step-up MFA (prompted if needed); prefer IMADM_OTP in scripts' -r
complete -c imadm -n "__fish_imadm_using_subcommand incident; and __fish_seen_subcommand_from contain" -l profile -d 'Saved server profile to use' -r
complete -c imadm -n "__fish_imadm_using_subcommand incident; and __fish_seen_subcommand_from contain" -l server -d 'Admin API base URL (https only)' -r
complete -c imadm -n "__fish_imadm_using_subcommand incident; and __fish_seen_subcommand_from contain" -l app-id -d 'Lanying app id, sent as the `app_id` header' -r
complete -c imadm -n "__fish_imadm_using_subcommand incident; and __fish_seen_subcommand_from contain" -l ca-cert -d 'Extra PEM CA certificate to trust' -r -F
complete -c imadm -n "__fish_imadm_using_subcommand incident; and __fish_seen_subcommand_from contain" -s o -l output -d 'Output format [default: table on a terminal, tsv when piped]' -r -f -a "table\t''
json\t''
jsonl\t''
csv\t''
tsv\t''"
complete -c imadm -n "__fish_imadm_using_subcommand incident; and __fish_seen_subcommand_from contain" -l config-dir -d 'Directory holding profiles [default: XDG config dir imadm/]' -r -F
complete -c imadm -n "__fish_imadm_using_subcommand incident; and __fish_seen_subcommand_from contain" -l color -d 'When to use colour (NO_COLOR is honoured)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c imadm -n "__fish_imadm_using_subcommand incident; and __fish_seen_subcommand_from contain" -l including-me -d 'End your own session too (by default the session running this command is kept)'
complete -c imadm -n "__fish_imadm_using_subcommand incident; and __fish_seen_subcommand_from contain" -l apply -d 'Act (default: a dry run)'
complete -c imadm -n "__fish_imadm_using_subcommand incident; and __fish_seen_subcommand_from contain" -l web -d 'Approve with a passkey in the browser instead of a TOTP code (prints the URL; opens it when there is a display)'
complete -c imadm -n "__fish_imadm_using_subcommand incident; and __fish_seen_subcommand_from contain" -l insecure-http -d 'Allow an http:// server URL, for a loopback address only'
complete -c imadm -n "__fish_imadm_using_subcommand incident; and __fish_seen_subcommand_from contain" -l no-input -d 'Never prompt; fail with a hint instead (implied when stdin is not a terminal)'
complete -c imadm -n "__fish_imadm_using_subcommand incident; and __fish_seen_subcommand_from contain" -s y -l yes -d 'Answer yes to confirmations'
complete -c imadm -n "__fish_imadm_using_subcommand incident; and __fish_seen_subcommand_from contain" -s v -l verbose -d 'More diagnostics on stderr (repeat for more); never secrets'
complete -c imadm -n "__fish_imadm_using_subcommand incident; and __fish_seen_subcommand_from contain" -s q -l quiet -d 'Fewer messages on stderr'
complete -c imadm -n "__fish_imadm_using_subcommand incident; and __fish_seen_subcommand_from contain" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c imadm -n "__fish_imadm_using_subcommand incident; and __fish_seen_subcommand_from contain" -s V -l version -d 'Print version'
complete -c imadm -n "__fish_imadm_using_subcommand incident; and __fish_seen_subcommand_from notify" -l incident -r
complete -c imadm -n "__fish_imadm_using_subcommand incident; and __fish_seen_subcommand_from notify" -l users -d 'The affected users (CSV: user_id,name,exposure)' -r -F
complete -c imadm -n "__fish_imadm_using_subcommand incident; and __fish_seen_subcommand_from notify" -l template -d 'The message template' -r -F
complete -c imadm -n "__fish_imadm_using_subcommand incident; and __fish_seen_subcommand_from notify" -l from -d 'The IM user id the messages come from' -r
complete -c imadm -n "__fish_imadm_using_subcommand incident; and __fish_seen_subcommand_from notify" -l rate -d 'At most this many messages per second (N/s)' -r
complete -c imadm -n "__fish_imadm_using_subcommand incident; and __fish_seen_subcommand_from notify" -l profile -d 'Saved server profile to use' -r
complete -c imadm -n "__fish_imadm_using_subcommand incident; and __fish_seen_subcommand_from notify" -l server -d 'Admin API base URL (https only)' -r
complete -c imadm -n "__fish_imadm_using_subcommand incident; and __fish_seen_subcommand_from notify" -l app-id -d 'Lanying app id, sent as the `app_id` header' -r
complete -c imadm -n "__fish_imadm_using_subcommand incident; and __fish_seen_subcommand_from notify" -l ca-cert -d 'Extra PEM CA certificate to trust' -r -F
complete -c imadm -n "__fish_imadm_using_subcommand incident; and __fish_seen_subcommand_from notify" -s o -l output -d 'Output format [default: table on a terminal, tsv when piped]' -r -f -a "table\t''
json\t''
jsonl\t''
csv\t''
tsv\t''"
complete -c imadm -n "__fish_imadm_using_subcommand incident; and __fish_seen_subcommand_from notify" -l config-dir -d 'Directory holding profiles [default: XDG config dir imadm/]' -r -F
complete -c imadm -n "__fish_imadm_using_subcommand incident; and __fish_seen_subcommand_from notify" -l color -d 'When to use colour (NO_COLOR is honoured)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c imadm -n "__fish_imadm_using_subcommand incident; and __fish_seen_subcommand_from notify" -l dry-run -d 'Render the first messages; send nothing'
complete -c imadm -n "__fish_imadm_using_subcommand incident; and __fish_seen_subcommand_from notify" -l insecure-http -d 'Allow an http:// server URL, for a loopback address only'
complete -c imadm -n "__fish_imadm_using_subcommand incident; and __fish_seen_subcommand_from notify" -l no-input -d 'Never prompt; fail with a hint instead (implied when stdin is not a terminal)'
complete -c imadm -n "__fish_imadm_using_subcommand incident; and __fish_seen_subcommand_from notify" -s y -l yes -d 'Answer yes to confirmations'
complete -c imadm -n "__fish_imadm_using_subcommand incident; and __fish_seen_subcommand_from notify" -s v -l verbose -d 'More diagnostics on stderr (repeat for more); never secrets'
complete -c imadm -n "__fish_imadm_using_subcommand incident; and __fish_seen_subcommand_from notify" -s q -l quiet -d 'Fewer messages on stderr'
complete -c imadm -n "__fish_imadm_using_subcommand incident; and __fish_seen_subcommand_from notify" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c imadm -n "__fish_imadm_using_subcommand incident; and __fish_seen_subcommand_from notify" -s V -l version -d 'Print version'
complete -c imadm -n "__fish_imadm_using_subcommand incident; and __fish_seen_subcommand_from report" -l out -d 'Where to write it: FILE.html, FILE.md or FILE.json' -r -F
complete -c imadm -n "__fish_imadm_using_subcommand incident; and __fish_seen_subcommand_from report" -l contact -d 'The contact point for the authority (GDPR art. 33(3)(b)), e.g. the DPO' -r
complete -c imadm -n "__fish_imadm_using_subcommand incident; and __fish_seen_subcommand_from report" -l sign-key -d 'OpenSSH Ed25519 private key to sign the report with [default: config sign_key]' -r -F
complete -c imadm -n "__fish_imadm_using_subcommand incident; and __fish_seen_subcommand_from report" -l signer -d 'Signer identity recorded in the output (e.g. an e-mail address)' -r
complete -c imadm -n "__fish_imadm_using_subcommand incident; and __fish_seen_subcommand_from report" -l profile -d 'Saved server profile to use' -r
complete -c imadm -n "__fish_imadm_using_subcommand incident; and __fish_seen_subcommand_from report" -l server -d 'Admin API base URL (https only)' -r
complete -c imadm -n "__fish_imadm_using_subcommand incident; and __fish_seen_subcommand_from report" -l app-id -d 'Lanying app id, sent as the `app_id` header' -r
complete -c imadm -n "__fish_imadm_using_subcommand incident; and __fish_seen_subcommand_from report" -l ca-cert -d 'Extra PEM CA certificate to trust' -r -F
complete -c imadm -n "__fish_imadm_using_subcommand incident; and __fish_seen_subcommand_from report" -s o -l output -d 'Output format [default: table on a terminal, tsv when piped]' -r -f -a "table\t''
json\t''
jsonl\t''
csv\t''
tsv\t''"
complete -c imadm -n "__fish_imadm_using_subcommand incident; and __fish_seen_subcommand_from report" -l config-dir -d 'Directory holding profiles [default: XDG config dir imadm/]' -r -F
complete -c imadm -n "__fish_imadm_using_subcommand incident; and __fish_seen_subcommand_from report" -l color -d 'When to use colour (NO_COLOR is honoured)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c imadm -n "__fish_imadm_using_subcommand incident; and __fish_seen_subcommand_from report" -l insecure-http -d 'Allow an http:// server URL, for a loopback address only'
complete -c imadm -n "__fish_imadm_using_subcommand incident; and __fish_seen_subcommand_from report" -l no-input -d 'Never prompt; fail with a hint instead (implied when stdin is not a terminal)'
complete -c imadm -n "__fish_imadm_using_subcommand incident; and __fish_seen_subcommand_from report" -s y -l yes -d 'Answer yes to confirmations'
complete -c imadm -n "__fish_imadm_using_subcommand incident; and __fish_seen_subcommand_from report" -s v -l verbose -d 'More diagnostics on stderr (repeat for more); never secrets'
complete -c imadm -n "__fish_imadm_using_subcommand incident; and __fish_seen_subcommand_from report" -s q -l quiet -d 'Fewer messages on stderr'
complete -c imadm -n "__fish_imadm_using_subcommand incident; and __fish_seen_subcommand_from report" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c imadm -n "__fish_imadm_using_subcommand incident; and __fish_seen_subcommand_from report" -s V -l version -d 'Print version'
complete -c imadm -n "__fish_imadm_using_subcommand compliance; and not __fish_seen_subcommand_from check" -l profile -d 'Saved server profile to use' -r
complete -c imadm -n "__fish_imadm_using_subcommand compliance; and not __fish_seen_subcommand_from check" -l server -d 'Admin API base URL (https only)' -r
complete -c imadm -n "__fish_imadm_using_subcommand compliance; and not __fish_seen_subcommand_from check" -l app-id -d 'Lanying app id, sent as the `app_id` header' -r
complete -c imadm -n "__fish_imadm_using_subcommand compliance; and not __fish_seen_subcommand_from check" -l ca-cert -d 'Extra PEM CA certificate to trust' -r -F
complete -c imadm -n "__fish_imadm_using_subcommand compliance; and not __fish_seen_subcommand_from check" -s o -l output -d 'Output format [default: table on a terminal, tsv when piped]' -r -f -a "table\t''
json\t''
jsonl\t''
csv\t''
tsv\t''"
complete -c imadm -n "__fish_imadm_using_subcommand compliance; and not __fish_seen_subcommand_from check" -l config-dir -d 'Directory holding profiles [default: XDG config dir imadm/]' -r -F
complete -c imadm -n "__fish_imadm_using_subcommand compliance; and not __fish_seen_subcommand_from check" -l color -d 'When to use colour (NO_COLOR is honoured)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c imadm -n "__fish_imadm_using_subcommand compliance; and not __fish_seen_subcommand_from check" -l insecure-http -d 'Allow an http:// server URL, for a loopback address only'
complete -c imadm -n "__fish_imadm_using_subcommand compliance; and not __fish_seen_subcommand_from check" -l no-input -d 'Never prompt; fail with a hint instead (implied when stdin is not a terminal)'
complete -c imadm -n "__fish_imadm_using_subcommand compliance; and not __fish_seen_subcommand_from check" -s y -l yes -d 'Answer yes to confirmations'
complete -c imadm -n "__fish_imadm_using_subcommand compliance; and not __fish_seen_subcommand_from check" -s v -l verbose -d 'More diagnostics on stderr (repeat for more); never secrets'
complete -c imadm -n "__fish_imadm_using_subcommand compliance; and not __fish_seen_subcommand_from check" -s q -l quiet -d 'Fewer messages on stderr'
complete -c imadm -n "__fish_imadm_using_subcommand compliance; and not __fish_seen_subcommand_from check" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c imadm -n "__fish_imadm_using_subcommand compliance; and not __fish_seen_subcommand_from check" -s V -l version -d 'Print version'
complete -c imadm -n "__fish_imadm_using_subcommand compliance; and not __fish_seen_subcommand_from check" -f -a "check" -d 'Check the live server (and backups) against a policy; exit 9 on any violation'
complete -c imadm -n "__fish_imadm_using_subcommand compliance; and __fish_seen_subcommand_from check" -l policy -d 'Policy file (TOML) with thresholds and disabled controls' -r -F
complete -c imadm -n "__fish_imadm_using_subcommand compliance; and __fish_seen_subcommand_from check" -l backup-dir -d 'Directory or s3://BUCKET/PREFIX holding backup archives and manifests (repeat for each destination)' -r -F
complete -c imadm -n "__fish_imadm_using_subcommand compliance; and __fish_seen_subcommand_from check" -l format -d 'Result format [default: text, or json with -o json]' -r -f -a "text\t''
json\t''
junit\t''"
complete -c imadm -n "__fish_imadm_using_subcommand compliance; and __fish_seen_subcommand_from check" -l out -d 'Write the result to FILE (atomically) instead of stdout' -r -F
complete -c imadm -n "__fish_imadm_using_subcommand compliance; and __fish_seen_subcommand_from check" -l sign-key -d 'Sign the result file (--out) with this OpenSSH Ed25519 key: FILE.sig, an SSHSIG in namespace imadm-audit, so the check itself is evidence [default: config sign_key]' -r -F
complete -c imadm -n "__fish_imadm_using_subcommand compliance; and __fish_seen_subcommand_from check" -l profile -d 'Saved server profile to use' -r
complete -c imadm -n "__fish_imadm_using_subcommand compliance; and __fish_seen_subcommand_from check" -l server -d 'Admin API base URL (https only)' -r
complete -c imadm -n "__fish_imadm_using_subcommand compliance; and __fish_seen_subcommand_from check" -l app-id -d 'Lanying app id, sent as the `app_id` header' -r
complete -c imadm -n "__fish_imadm_using_subcommand compliance; and __fish_seen_subcommand_from check" -l ca-cert -d 'Extra PEM CA certificate to trust' -r -F
complete -c imadm -n "__fish_imadm_using_subcommand compliance; and __fish_seen_subcommand_from check" -s o -l output -d 'Output format [default: table on a terminal, tsv when piped]' -r -f -a "table\t''
json\t''
jsonl\t''
csv\t''
tsv\t''"
complete -c imadm -n "__fish_imadm_using_subcommand compliance; and __fish_seen_subcommand_from check" -l config-dir -d 'Directory holding profiles [default: XDG config dir imadm/]' -r -F
complete -c imadm -n "__fish_imadm_using_subcommand compliance; and __fish_seen_subcommand_from check" -l color -d 'When to use colour (NO_COLOR is honoured)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c imadm -n "__fish_imadm_using_subcommand compliance; and __fish_seen_subcommand_from check" -l insecure-http -d 'Allow an http:// server URL, for a loopback address only'
complete -c imadm -n "__fish_imadm_using_subcommand compliance; and __fish_seen_subcommand_from check" -l no-input -d 'Never prompt; fail with a hint instead (implied when stdin is not a terminal)'
complete -c imadm -n "__fish_imadm_using_subcommand compliance; and __fish_seen_subcommand_from check" -s y -l yes -d 'Answer yes to confirmations'
complete -c imadm -n "__fish_imadm_using_subcommand compliance; and __fish_seen_subcommand_from check" -s v -l verbose -d 'More diagnostics on stderr (repeat for more); never secrets'
complete -c imadm -n "__fish_imadm_using_subcommand compliance; and __fish_seen_subcommand_from check" -s q -l quiet -d 'Fewer messages on stderr'
complete -c imadm -n "__fish_imadm_using_subcommand compliance; and __fish_seen_subcommand_from check" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c imadm -n "__fish_imadm_using_subcommand compliance; and __fish_seen_subcommand_from check" -s V -l version -d 'Print version'
complete -c imadm -n "__fish_imadm_using_subcommand notify; and not __fish_seen_subcommand_from status test" -l profile -d 'Saved server profile to use' -r
complete -c imadm -n "__fish_imadm_using_subcommand notify; and not __fish_seen_subcommand_from status test" -l server -d 'Admin API base URL (https only)' -r
complete -c imadm -n "__fish_imadm_using_subcommand notify; and not __fish_seen_subcommand_from status test" -l app-id -d 'Lanying app id, sent as the `app_id` header' -r
complete -c imadm -n "__fish_imadm_using_subcommand notify; and not __fish_seen_subcommand_from status test" -l ca-cert -d 'Extra PEM CA certificate to trust' -r -F
complete -c imadm -n "__fish_imadm_using_subcommand notify; and not __fish_seen_subcommand_from status test" -s o -l output -d 'Output format [default: table on a terminal, tsv when piped]' -r -f -a "table\t''
json\t''
jsonl\t''
csv\t''
tsv\t''"
complete -c imadm -n "__fish_imadm_using_subcommand notify; and not __fish_seen_subcommand_from status test" -l config-dir -d 'Directory holding profiles [default: XDG config dir imadm/]' -r -F
complete -c imadm -n "__fish_imadm_using_subcommand notify; and not __fish_seen_subcommand_from status test" -l color -d 'When to use colour (NO_COLOR is honoured)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c imadm -n "__fish_imadm_using_subcommand notify; and not __fish_seen_subcommand_from status test" -l insecure-http -d 'Allow an http:// server URL, for a loopback address only'
complete -c imadm -n "__fish_imadm_using_subcommand notify; and not __fish_seen_subcommand_from status test" -l no-input -d 'Never prompt; fail with a hint instead (implied when stdin is not a terminal)'
complete -c imadm -n "__fish_imadm_using_subcommand notify; and not __fish_seen_subcommand_from status test" -s y -l yes -d 'Answer yes to confirmations'
complete -c imadm -n "__fish_imadm_using_subcommand notify; and not __fish_seen_subcommand_from status test" -s v -l verbose -d 'More diagnostics on stderr (repeat for more); never secrets'
complete -c imadm -n "__fish_imadm_using_subcommand notify; and not __fish_seen_subcommand_from status test" -s q -l quiet -d 'Fewer messages on stderr'
complete -c imadm -n "__fish_imadm_using_subcommand notify; and not __fish_seen_subcommand_from status test" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c imadm -n "__fish_imadm_using_subcommand notify; and not __fish_seen_subcommand_from status test" -s V -l version -d 'Print version'
complete -c imadm -n "__fish_imadm_using_subcommand notify; and not __fish_seen_subcommand_from status test" -f -a "status" -d 'Per channel: messages queued, last success, last error (security:read)'
complete -c imadm -n "__fish_imadm_using_subcommand notify; and not __fish_seen_subcommand_from status test" -f -a "test" -d 'Send a test message on a channel and show how it went (security:manage; audited)'
complete -c imadm -n "__fish_imadm_using_subcommand notify; and __fish_seen_subcommand_from status" -l profile -d 'Saved server profile to use' -r
complete -c imadm -n "__fish_imadm_using_subcommand notify; and __fish_seen_subcommand_from status" -l server -d 'Admin API base URL (https only)' -r
complete -c imadm -n "__fish_imadm_using_subcommand notify; and __fish_seen_subcommand_from status" -l app-id -d 'Lanying app id, sent as the `app_id` header' -r
complete -c imadm -n "__fish_imadm_using_subcommand notify; and __fish_seen_subcommand_from status" -l ca-cert -d 'Extra PEM CA certificate to trust' -r -F
complete -c imadm -n "__fish_imadm_using_subcommand notify; and __fish_seen_subcommand_from status" -s o -l output -d 'Output format [default: table on a terminal, tsv when piped]' -r -f -a "table\t''
json\t''
jsonl\t''
csv\t''
tsv\t''"
complete -c imadm -n "__fish_imadm_using_subcommand notify; and __fish_seen_subcommand_from status" -l config-dir -d 'Directory holding profiles [default: XDG config dir imadm/]' -r -F
complete -c imadm -n "__fish_imadm_using_subcommand notify; and __fish_seen_subcommand_from status" -l color -d 'When to use colour (NO_COLOR is honoured)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c imadm -n "__fish_imadm_using_subcommand notify; and __fish_seen_subcommand_from status" -l insecure-http -d 'Allow an http:// server URL, for a loopback address only'
complete -c imadm -n "__fish_imadm_using_subcommand notify; and __fish_seen_subcommand_from status" -l no-input -d 'Never prompt; fail with a hint instead (implied when stdin is not a terminal)'
complete -c imadm -n "__fish_imadm_using_subcommand notify; and __fish_seen_subcommand_from status" -s y -l yes -d 'Answer yes to confirmations'
complete -c imadm -n "__fish_imadm_using_subcommand notify; and __fish_seen_subcommand_from status" -s v -l verbose -d 'More diagnostics on stderr (repeat for more); never secrets'
complete -c imadm -n "__fish_imadm_using_subcommand notify; and __fish_seen_subcommand_from status" -s q -l quiet -d 'Fewer messages on stderr'
complete -c imadm -n "__fish_imadm_using_subcommand notify; and __fish_seen_subcommand_from status" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c imadm -n "__fish_imadm_using_subcommand notify; and __fish_seen_subcommand_from status" -s V -l version -d 'Print version'
complete -c imadm -n "__fish_imadm_using_subcommand notify; and __fish_seen_subcommand_from test" -l profile -d 'Saved server profile to use' -r
complete -c imadm -n "__fish_imadm_using_subcommand notify; and __fish_seen_subcommand_from test" -l server -d 'Admin API base URL (https only)' -r
complete -c imadm -n "__fish_imadm_using_subcommand notify; and __fish_seen_subcommand_from test" -l app-id -d 'Lanying app id, sent as the `app_id` header' -r
complete -c imadm -n "__fish_imadm_using_subcommand notify; and __fish_seen_subcommand_from test" -l ca-cert -d 'Extra PEM CA certificate to trust' -r -F
complete -c imadm -n "__fish_imadm_using_subcommand notify; and __fish_seen_subcommand_from test" -s o -l output -d 'Output format [default: table on a terminal, tsv when piped]' -r -f -a "table\t''
json\t''
jsonl\t''
csv\t''
tsv\t''"
complete -c imadm -n "__fish_imadm_using_subcommand notify; and __fish_seen_subcommand_from test" -l config-dir -d 'Directory holding profiles [default: XDG config dir imadm/]' -r -F
complete -c imadm -n "__fish_imadm_using_subcommand notify; and __fish_seen_subcommand_from test" -l color -d 'When to use colour (NO_COLOR is honoured)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c imadm -n "__fish_imadm_using_subcommand notify; and __fish_seen_subcommand_from test" -l insecure-http -d 'Allow an http:// server URL, for a loopback address only'
complete -c imadm -n "__fish_imadm_using_subcommand notify; and __fish_seen_subcommand_from test" -l no-input -d 'Never prompt; fail with a hint instead (implied when stdin is not a terminal)'
complete -c imadm -n "__fish_imadm_using_subcommand notify; and __fish_seen_subcommand_from test" -s y -l yes -d 'Answer yes to confirmations'
complete -c imadm -n "__fish_imadm_using_subcommand notify; and __fish_seen_subcommand_from test" -s v -l verbose -d 'More diagnostics on stderr (repeat for more); never secrets'
complete -c imadm -n "__fish_imadm_using_subcommand notify; and __fish_seen_subcommand_from test" -s q -l quiet -d 'Fewer messages on stderr'
complete -c imadm -n "__fish_imadm_using_subcommand notify; and __fish_seen_subcommand_from test" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c imadm -n "__fish_imadm_using_subcommand notify; and __fish_seen_subcommand_from test" -s V -l version -d 'Print version'
complete -c imadm -n "__fish_imadm_using_subcommand backup; and not __fish_seen_subcommand_from run list verify restore prune" -l profile -d 'Saved server profile to use' -r
complete -c imadm -n "__fish_imadm_using_subcommand backup; and not __fish_seen_subcommand_from run list verify restore prune" -l server -d 'Admin API base URL (https only)' -r
complete -c imadm -n "__fish_imadm_using_subcommand backup; and not __fish_seen_subcommand_from run list verify restore prune" -l app-id -d 'Lanying app id, sent as the `app_id` header' -r
complete -c imadm -n "__fish_imadm_using_subcommand backup; and not __fish_seen_subcommand_from run list verify restore prune" -l ca-cert -d 'Extra PEM CA certificate to trust' -r -F
complete -c imadm -n "__fish_imadm_using_subcommand backup; and not __fish_seen_subcommand_from run list verify restore prune" -s o -l output -d 'Output format [default: table on a terminal, tsv when piped]' -r -f -a "table\t''
json\t''
jsonl\t''
csv\t''
tsv\t''"
complete -c imadm -n "__fish_imadm_using_subcommand backup; and not __fish_seen_subcommand_from run list verify restore prune" -l config-dir -d 'Directory holding profiles [default: XDG config dir imadm/]' -r -F
complete -c imadm -n "__fish_imadm_using_subcommand backup; and not __fish_seen_subcommand_from run list verify restore prune" -l color -d 'When to use colour (NO_COLOR is honoured)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c imadm -n "__fish_imadm_using_subcommand backup; and not __fish_seen_subcommand_from run list verify restore prune" -l insecure-http -d 'Allow an http:// server URL, for a loopback address only'
complete -c imadm -n "__fish_imadm_using_subcommand backup; and not __fish_seen_subcommand_from run list verify restore prune" -l no-input -d 'Never prompt; fail with a hint instead (implied when stdin is not a terminal)'
complete -c imadm -n "__fish_imadm_using_subcommand backup; and not __fish_seen_subcommand_from run list verify restore prune" -s y -l yes -d 'Answer yes to confirmations'
complete -c imadm -n "__fish_imadm_using_subcommand backup; and not __fish_seen_subcommand_from run list verify restore prune" -s v -l verbose -d 'More diagnostics on stderr (repeat for more); never secrets'
complete -c imadm -n "__fish_imadm_using_subcommand backup; and not __fish_seen_subcommand_from run list verify restore prune" -s q -l quiet -d 'Fewer messages on stderr'
complete -c imadm -n "__fish_imadm_using_subcommand backup; and not __fish_seen_subcommand_from run list verify restore prune" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c imadm -n "__fish_imadm_using_subcommand backup; and not __fish_seen_subcommand_from run list verify restore prune" -s V -l version -d 'Print version'
complete -c imadm -n "__fish_imadm_using_subcommand backup; and not __fish_seen_subcommand_from run list verify restore prune" -f -a "run" -d 'Stream an age-encrypted snapshot into one or more directories'
complete -c imadm -n "__fish_imadm_using_subcommand backup; and not __fish_seen_subcommand_from run list verify restore prune" -f -a "list" -d 'List the archives in directories (from their manifests)'
complete -c imadm -n "__fish_imadm_using_subcommand backup; and not __fish_seen_subcommand_from run list verify restore prune" -f -a "verify" -d 'Check an archive against its manifest, or decrypt and check it fully'
complete -c imadm -n "__fish_imadm_using_subcommand backup; and not __fish_seen_subcommand_from run list verify restore prune" -f -a "restore" -d 'Roll the server\'s data back to an archive; its audit log and revocations stay (step-up MFA)'
complete -c imadm -n "__fish_imadm_using_subcommand backup; and not __fish_seen_subcommand_from run list verify restore prune" -f -a "prune" -d 'Delete old archives by retention policy (restic\'s semantics)'
complete -c imadm -n "__fish_imadm_using_subcommand backup; and __fish_seen_subcommand_from run" -s r -l recipient -d 'age recipient (age1...) or SSH public key (ssh-ed25519/ssh-rsa ...); repeatable' -r
complete -c imadm -n "__fish_imadm_using_subcommand backup; and __fish_seen_subcommand_from run" -s R -l recipients-file -d 'File with one recipient per line (# comments allowed)' -r -F
complete -c imadm -n "__fish_imadm_using_subcommand backup; and __fish_seen_subcommand_from run" -l to -d 'Destination directory or s3://BUCKET/PREFIX (AWS_* environment); repeat to write several copies in one pass' -r
complete -c imadm -n "__fish_imadm_using_subcommand backup; and __fish_seen_subcommand_from run" -l object-lock-days -d 'S3 Object Lock: keep the S3 copies (archive and manifest) from deletion for N days (the bucket must have Object Lock enabled). Each copy\'s retention is read back and set where the service dropped it; a copy left unlocked is removed (exit 7)' -r
complete -c imadm -n "__fish_imadm_using_subcommand backup; and __fish_seen_subcommand_from run" -l object-lock-mode -d 'Object Lock mode: compliance (nobody can remove it early) or governance' -r -f -a "compliance\t'Nobody can delete or shorten it before the date, the account\'s root user neither'
governance\t'Users with s3:BypassGovernanceRetention can still delete it'"
complete -c imadm -n "__fish_imadm_using_subcommand backup; and __fish_seen_subcommand_from run" -l name -d 'Extra name part: imadm-<server_id>-<name>-<time>.age' -r
complete -c imadm -n "__fish_imadm_using_subcommand backup; and __fish_seen_subcommand_from run" -l profile -d 'Saved server profile to use' -r
complete -c imadm -n "__fish_imadm_using_subcommand backup; and __fish_seen_subcommand_from run" -l server -d 'Admin API base URL (https only)' -r
complete -c imadm -n "__fish_imadm_using_subcommand backup; and __fish_seen_subcommand_from run" -l app-id -d 'Lanying app id, sent as the `app_id` header' -r
complete -c imadm -n "__fish_imadm_using_subcommand backup; and __fish_seen_subcommand_from run" -l ca-cert -d 'Extra PEM CA certificate to trust' -r -F
complete -c imadm -n "__fish_imadm_using_subcommand backup; and __fish_seen_subcommand_from run" -s o -l output -d 'Output format [default: table on a terminal, tsv when piped]' -r -f -a "table\t''
json\t''
jsonl\t''
csv\t''
tsv\t''"
complete -c imadm -n "__fish_imadm_using_subcommand backup; and __fish_seen_subcommand_from run" -l config-dir -d 'Directory holding profiles [default: XDG config dir imadm/]' -r -F
complete -c imadm -n "__fish_imadm_using_subcommand backup; and __fish_seen_subcommand_from run" -l color -d 'When to use colour (NO_COLOR is honoured)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c imadm -n "__fish_imadm_using_subcommand backup; and __fish_seen_subcommand_from run" -l insecure-http -d 'Allow an http:// server URL, for a loopback address only'
complete -c imadm -n "__fish_imadm_using_subcommand backup; and __fish_seen_subcommand_from run" -l no-input -d 'Never prompt; fail with a hint instead (implied when stdin is not a terminal)'
complete -c imadm -n "__fish_imadm_using_subcommand backup; and __fish_seen_subcommand_from run" -s y -l yes -d 'Answer yes to confirmations'
complete -c imadm -n "__fish_imadm_using_subcommand backup; and __fish_seen_subcommand_from run" -s v -l verbose -d 'More diagnostics on stderr (repeat for more); never secrets'
complete -c imadm -n "__fish_imadm_using_subcommand backup; and __fish_seen_subcommand_from run" -s q -l quiet -d 'Fewer messages on stderr'
complete -c imadm -n "__fish_imadm_using_subcommand backup; and __fish_seen_subcommand_from run" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c imadm -n "__fish_imadm_using_subcommand backup; and __fish_seen_subcommand_from run" -s V -l version -d 'Print version'
complete -c imadm -n "__fish_imadm_using_subcommand backup; and __fish_seen_subcommand_from list" -l in -d 'A directory holding archives and their manifests, like DIR (repeatable)' -r -F
complete -c imadm -n "__fish_imadm_using_subcommand backup; and __fish_seen_subcommand_from list" -l profile -d 'Saved server profile to use' -r
complete -c imadm -n "__fish_imadm_using_subcommand backup; and __fish_seen_subcommand_from list" -l server -d 'Admin API base URL (https only)' -r
complete -c imadm -n "__fish_imadm_using_subcommand backup; and __fish_seen_subcommand_from list" -l app-id -d 'Lanying app id, sent as the `app_id` header' -r
complete -c imadm -n "__fish_imadm_using_subcommand backup; and __fish_seen_subcommand_from list" -l ca-cert -d 'Extra PEM CA certificate to trust' -r -F
complete -c imadm -n "__fish_imadm_using_subcommand backup; and __fish_seen_subcommand_from list" -s o -l output -d 'Output format [default: table on a terminal, tsv when piped]' -r -f -a "table\t''
json\t''
jsonl\t''
csv\t''
tsv\t''"
complete -c imadm -n "__fish_imadm_using_subcommand backup; and __fish_seen_subcommand_from list" -l config-dir -d 'Directory holding profiles [default: XDG config dir imadm/]' -r -F
complete -c imadm -n "__fish_imadm_using_subcommand backup; and __fish_seen_subcommand_from list" -l color -d 'When to use colour (NO_COLOR is honoured)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c imadm -n "__fish_imadm_using_subcommand backup; and __fish_seen_subcommand_from list" -l insecure-http -d 'Allow an http:// server URL, for a loopback address only'
complete -c imadm -n "__fish_imadm_using_subcommand backup; and __fish_seen_subcommand_from list" -l no-input -d 'Never prompt; fail with a hint instead (implied when stdin is not a terminal)'
complete -c imadm -n "__fish_imadm_using_subcommand backup; and __fish_seen_subcommand_from list" -s y -l yes -d 'Answer yes to confirmations'
complete -c imadm -n "__fish_imadm_using_subcommand backup; and __fish_seen_subcommand_from list" -s v -l verbose -d 'More diagnostics on stderr (repeat for more); never secrets'
complete -c imadm -n "__fish_imadm_using_subcommand backup; and __fish_seen_subcommand_from list" -s q -l quiet -d 'Fewer messages on stderr'
complete -c imadm -n "__fish_imadm_using_subcommand backup; and __fish_seen_subcommand_from list" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c imadm -n "__fish_imadm_using_subcommand backup; and __fish_seen_subcommand_from list" -s V -l version -d 'Print version'
complete -c imadm -n "__fish_imadm_using_subcommand backup; and __fish_seen_subcommand_from verify" -s i -l identity -d 'age identity file or SSH private key (passphrase: prompted, or IMADM_IDENTITY_PASSPHRASE): also decrypt and check the snapshot' -r -F
complete -c imadm -n "__fish_imadm_using_subcommand backup; and __fish_seen_subcommand_from verify" -l profile -d 'Saved server profile to use' -r
complete -c imadm -n "__fish_imadm_using_subcommand backup; and __fish_seen_subcommand_from verify" -l server -d 'Admin API base URL (https only)' -r
complete -c imadm -n "__fish_imadm_using_subcommand backup; and __fish_seen_subcommand_from verify" -l app-id -d 'Lanying app id, sent as the `app_id` header' -r
complete -c imadm -n "__fish_imadm_using_subcommand backup; and __fish_seen_subcommand_from verify" -l ca-cert -d 'Extra PEM CA certificate to trust' -r -F
complete -c imadm -n "__fish_imadm_using_subcommand backup; and __fish_seen_subcommand_from verify" -s o -l output -d 'Output format [default: table on a terminal, tsv when piped]' -r -f -a "table\t''
json\t''
jsonl\t''
csv\t''
tsv\t''"
complete -c imadm -n "__fish_imadm_using_subcommand backup; and __fish_seen_subcommand_from verify" -l config-dir -d 'Directory holding profiles [default: XDG config dir imadm/]' -r -F
complete -c imadm -n "__fish_imadm_using_subcommand backup; and __fish_seen_subcommand_from verify" -l color -d 'When to use colour (NO_COLOR is honoured)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c imadm -n "__fish_imadm_using_subcommand backup; and __fish_seen_subcommand_from verify" -l insecure-http -d 'Allow an http:// server URL, for a loopback address only'
complete -c imadm -n "__fish_imadm_using_subcommand backup; and __fish_seen_subcommand_from verify" -l no-input -d 'Never prompt; fail with a hint instead (implied when stdin is not a terminal)'
complete -c imadm -n "__fish_imadm_using_subcommand backup; and __fish_seen_subcommand_from verify" -s y -l yes -d 'Answer yes to confirmations'
complete -c imadm -n "__fish_imadm_using_subcommand backup; and __fish_seen_subcommand_from verify" -s v -l verbose -d 'More diagnostics on stderr (repeat for more); never secrets'
complete -c imadm -n "__fish_imadm_using_subcommand backup; and __fish_seen_subcommand_from verify" -s q -l quiet -d 'Fewer messages on stderr'
complete -c imadm -n "__fish_imadm_using_subcommand backup; and __fish_seen_subcommand_from verify" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c imadm -n "__fish_imadm_using_subcommand backup; and __fish_seen_subcommand_from verify" -s V -l version -d 'Print version'
complete -c imadm -n "__fish_imadm_using_subcommand backup; and __fish_seen_subcommand_from restore" -s i -l identity -d 'age identity file or SSH private key (passphrase: prompted, or IMADM_IDENTITY_PASSPHRASE)' -r -F
complete -c imadm -n "__fish_imadm_using_subcommand backup; and __fish_seen_subcommand_from restore" -l accept-fork -d 'Restore even though the archive\'s audit log forks from the server\'s, for this reason (recorded in the audit log; the server\'s log is kept)' -r
complete -c imadm -n "__fish_imadm_using_subcommand backup; and __fish_seen_subcommand_from restore" -l otp -d 'Current TOTP code for step-up MFA (prompted if needed); prefer IMADM_OTP in scripts' -r
complete -c imadm -n "__fish_imadm_using_subcommand backup; and __fish_seen_subcommand_from restore" -l profile -d 'Saved server profile to use' -r
complete -c imadm -n "__fish_imadm_using_subcommand backup; and __fish_seen_subcommand_from restore" -l server -d 'Admin API base URL (https only)' -r
complete -c imadm -n "__fish_imadm_using_subcommand backup; and __fish_seen_subcommand_from restore" -l app-id -d 'Lanying app id, sent as the `app_id` header' -r
complete -c imadm -n "__fish_imadm_using_subcommand backup; and __fish_seen_subcommand_from restore" -l ca-cert -d 'Extra PEM CA certificate to trust' -r -F
complete -c imadm -n "__fish_imadm_using_subcommand backup; and __fish_seen_subcommand_from restore" -s o -l output -d 'Output format [default: table on a terminal, tsv when piped]' -r -f -a "table\t''
json\t''
jsonl\t''
csv\t''
tsv\t''"
complete -c imadm -n "__fish_imadm_using_subcommand backup; and __fish_seen_subcommand_from restore" -l config-dir -d 'Directory holding profiles [default: XDG config dir imadm/]' -r -F
complete -c imadm -n "__fish_imadm_using_subcommand backup; and __fish_seen_subcommand_from restore" -l color -d 'When to use colour (NO_COLOR is honoured)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c imadm -n "__fish_imadm_using_subcommand backup; and __fish_seen_subcommand_from restore" -l dry-run -d 'Check the archive as a restore would, and show what it would do (per table, to the audit log, per operator and token) and who would gain permissions, without changing anything'
complete -c imadm -n "__fish_imadm_using_subcommand backup; and __fish_seen_subcommand_from restore" -l web -d 'Approve with a passkey in the browser instead of a TOTP code (prints the URL; opens it when there is a display)'
complete -c imadm -n "__fish_imadm_using_subcommand backup; and __fish_seen_subcommand_from restore" -l insecure-http -d 'Allow an http:// server URL, for a loopback address only'
complete -c imadm -n "__fish_imadm_using_subcommand backup; and __fish_seen_subcommand_from restore" -l no-input -d 'Never prompt; fail with a hint instead (implied when stdin is not a terminal)'
complete -c imadm -n "__fish_imadm_using_subcommand backup; and __fish_seen_subcommand_from restore" -s y -l yes -d 'Answer yes to confirmations'
complete -c imadm -n "__fish_imadm_using_subcommand backup; and __fish_seen_subcommand_from restore" -s v -l verbose -d 'More diagnostics on stderr (repeat for more); never secrets'
complete -c imadm -n "__fish_imadm_using_subcommand backup; and __fish_seen_subcommand_from restore" -s q -l quiet -d 'Fewer messages on stderr'
complete -c imadm -n "__fish_imadm_using_subcommand backup; and __fish_seen_subcommand_from restore" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c imadm -n "__fish_imadm_using_subcommand backup; and __fish_seen_subcommand_from restore" -s V -l version -d 'Print version'
complete -c imadm -n "__fish_imadm_using_subcommand backup; and __fish_seen_subcommand_from prune" -l in -d 'Directory or s3://BUCKET/PREFIX holding archives and their manifests' -r -F
complete -c imadm -n "__fish_imadm_using_subcommand backup; and __fish_seen_subcommand_from prune" -l keep-last -d 'Keep the N newest archives' -r
complete -c imadm -n "__fish_imadm_using_subcommand backup; and __fish_seen_subcommand_from prune" -l keep-daily -d 'Keep the newest archive of each of the last N days that have archives' -r
complete -c imadm -n "__fish_imadm_using_subcommand backup; and __fish_seen_subcommand_from prune" -l keep-weekly -d 'Keep the newest archive of each of the last N ISO weeks that have archives' -r
complete -c imadm -n "__fish_imadm_using_subcommand backup; and __fish_seen_subcommand_from prune" -l keep-monthly -d 'Keep the newest archive of each of the last N months that have archives' -r
complete -c imadm -n "__fish_imadm_using_subcommand backup; and __fish_seen_subcommand_from prune" -l incomplete-older-than -d 'S3: abort the multipart uploads of interrupted runs started longer ago than this (default 24h; 0s: all, including a run under way); alone, prune only those' -r
complete -c imadm -n "__fish_imadm_using_subcommand backup; and __fish_seen_subcommand_from prune" -l profile -d 'Saved server profile to use' -r
complete -c imadm -n "__fish_imadm_using_subcommand backup; and __fish_seen_subcommand_from prune" -l server -d 'Admin API base URL (https only)' -r
complete -c imadm -n "__fish_imadm_using_subcommand backup; and __fish_seen_subcommand_from prune" -l app-id -d 'Lanying app id, sent as the `app_id` header' -r
complete -c imadm -n "__fish_imadm_using_subcommand backup; and __fish_seen_subcommand_from prune" -l ca-cert -d 'Extra PEM CA certificate to trust' -r -F
complete -c imadm -n "__fish_imadm_using_subcommand backup; and __fish_seen_subcommand_from prune" -s o -l output -d 'Output format [default: table on a terminal, tsv when piped]' -r -f -a "table\t''
json\t''
jsonl\t''
csv\t''
tsv\t''"
complete -c imadm -n "__fish_imadm_using_subcommand backup; and __fish_seen_subcommand_from prune" -l config-dir -d 'Directory holding profiles [default: XDG config dir imadm/]' -r -F
complete -c imadm -n "__fish_imadm_using_subcommand backup; and __fish_seen_subcommand_from prune" -l color -d 'When to use colour (NO_COLOR is honoured)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c imadm -n "__fish_imadm_using_subcommand backup; and __fish_seen_subcommand_from prune" -l dry-run -d 'Only show what would be kept and removed'
complete -c imadm -n "__fish_imadm_using_subcommand backup; and __fish_seen_subcommand_from prune" -l insecure-http -d 'Allow an http:// server URL, for a loopback address only'
complete -c imadm -n "__fish_imadm_using_subcommand backup; and __fish_seen_subcommand_from prune" -l no-input -d 'Never prompt; fail with a hint instead (implied when stdin is not a terminal)'
complete -c imadm -n "__fish_imadm_using_subcommand backup; and __fish_seen_subcommand_from prune" -s y -l yes -d 'Answer yes to confirmations'
complete -c imadm -n "__fish_imadm_using_subcommand backup; and __fish_seen_subcommand_from prune" -s v -l verbose -d 'More diagnostics on stderr (repeat for more); never secrets'
complete -c imadm -n "__fish_imadm_using_subcommand backup; and __fish_seen_subcommand_from prune" -s q -l quiet -d 'Fewer messages on stderr'
complete -c imadm -n "__fish_imadm_using_subcommand backup; and __fish_seen_subcommand_from prune" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c imadm -n "__fish_imadm_using_subcommand backup; and __fish_seen_subcommand_from prune" -s V -l version -d 'Print version'
complete -c imadm -n "__fish_imadm_using_subcommand server; and not __fish_seen_subcommand_from init rotate-key rotate-audit-key" -l listen -d 'Address to listen on (port 0 picks a free port)' -r
complete -c imadm -n "__fish_imadm_using_subcommand server; and not __fish_seen_subcommand_from init rotate-key rotate-audit-key" -l data-dir -d 'Data directory (SQLite database, server key, dev certificates)' -r -F
complete -c imadm -n "__fish_imadm_using_subcommand server; and not __fish_seen_subcommand_from init rotate-key rotate-audit-key" -l database -d 'PostgreSQL database instead of the data dir\'s SQLite file, which several instances may share. A libpq-style postgres:// URL; its password comes from PGPASSWORD or the password file (PGPASSFILE, ~/.pgpass), or from the URL in IMADM_DATABASE_URL, never from the command line' -r
complete -c imadm -n "__fish_imadm_using_subcommand server; and not __fish_seen_subcommand_from init rotate-key rotate-audit-key" -l trusted-proxy -d 'A load balancer\'s address or CIDR range (e.g. 10.0.0.0/8). From there, a PROXY protocol header (v1 or v2, before TLS) or the X-Forwarded-For header names the client address that login throttling, the audit log and alerts see; from any other address a PROXY header closes the connection and X-Forwarded-For is ignored. Repeatable, or comma-separated [default: none, the TCP peer is the client]' -r
complete -c imadm -n "__fish_imadm_using_subcommand server; and not __fish_seen_subcommand_from init rotate-key rotate-audit-key" -l tls-cert -d 'PEM certificate chain (required without --dev)' -r -F
complete -c imadm -n "__fish_imadm_using_subcommand server; and not __fish_seen_subcommand_from init rotate-key rotate-audit-key" -l tls-key -d 'PEM private key for --tls-cert' -r -F
complete -c imadm -n "__fish_imadm_using_subcommand server; and not __fish_seen_subcommand_from init rotate-key rotate-audit-key" -l access-ttl -d 'Access-token lifetime in seconds (testing aid)' -r
complete -c imadm -n "__fish_imadm_using_subcommand server; and not __fish_seen_subcommand_from init rotate-key rotate-audit-key" -l refresh-grace -d 'Refresh grace window in seconds, 0 for none (testing aid)' -r
complete -c imadm -n "__fish_imadm_using_subcommand server; and not __fish_seen_subcommand_from init rotate-key rotate-audit-key" -l lockout-base -d 'Base lockout delay in seconds after 5 failures (testing aid)' -r
complete -c imadm -n "__fish_imadm_using_subcommand server; and not __fish_seen_subcommand_from init rotate-key rotate-audit-key" -l approval-ttl -d 'Browser approval (device code) lifetime in seconds (testing aid)' -r
complete -c imadm -n "__fish_imadm_using_subcommand server; and not __fish_seen_subcommand_from init rotate-key rotate-audit-key" -l approval-interval -d 'Seconds between a browser approval\'s polls (testing aid)' -r
complete -c imadm -n "__fish_imadm_using_subcommand server; and not __fish_seen_subcommand_from init rotate-key rotate-audit-key" -l public-url -d 'The https:// URL browsers reach this server at: the passkeys\' relying party (its host name) and the approval page\'s address [default: https://localhost:PORT]' -r
complete -c imadm -n "__fish_imadm_using_subcommand server; and not __fish_seen_subcommand_from init rotate-key rotate-audit-key" -l require-passkey-for -d 'Operators holding ROLE must use passkeys: once they have one, TOTP neither logs them in nor approves their step-ups; until then they may only enrol one. Repeatable' -r
complete -c imadm -n "__fish_imadm_using_subcommand server; and not __fish_seen_subcommand_from init rotate-key rotate-audit-key" -l login-burst -d 'Attempts (passwords, MFA and step-up codes) one source address may make in a burst; an attempt that succeeds costs nothing' -r
complete -c imadm -n "__fish_imadm_using_subcommand server; and not __fish_seen_subcommand_from init rotate-key rotate-audit-key" -l login-refill -d 'After the burst, one more attempt per source address every DURATION (s, m or h)' -r
complete -c imadm -n "__fish_imadm_using_subcommand server; and not __fish_seen_subcommand_from init rotate-key rotate-audit-key" -l seed-operator -d 'Dev only: also create NAME with ROLE and enrolled MFA, reported in -o json (testing aid)' -r
complete -c imadm -n "__fish_imadm_using_subcommand server; and not __fish_seen_subcommand_from init rotate-key rotate-audit-key" -l alert-login-failures -d 'Alert (login_failures, medium) when one username fails to log in COUNT times within DURATION (s, m, h or d)' -r
complete -c imadm -n "__fish_imadm_using_subcommand server; and not __fish_seen_subcommand_from init rotate-key rotate-audit-key" -l alert-read-burst -d 'Alert (sensitive_read_burst, high) when one actor makes COUNT sensitive reads (message history, audit or user export) within DURATION' -r
complete -c imadm -n "__fish_imadm_using_subcommand server; and not __fish_seen_subcommand_from init rotate-key rotate-audit-key" -l business-hours -d 'Alert (off_hours, low; at most one an hour per operator) when an operator acts outside these hours, e.g. "Mon-Fri 08:00-18:00" [default: off]' -r
complete -c imadm -n "__fish_imadm_using_subcommand server; and not __fish_seen_subcommand_from init rotate-key rotate-audit-key" -l business-tz -d 'UTC offset of --business-hours: UTC, +HH:MM or -HH:MM [default: UTC]' -r
complete -c imadm -n "__fish_imadm_using_subcommand server; and not __fish_seen_subcommand_from init rotate-key rotate-audit-key" -l notify-config -d 'Send alerts to the channels of this TOML file (webhook, Slack, DingTalk, WeCom, Feishu; see "Monitoring" in the README); mode 0600 or 0400; reloaded on SIGHUP' -r -F
complete -c imadm -n "__fish_imadm_using_subcommand server; and not __fish_seen_subcommand_from init rotate-key rotate-audit-key" -l audit-sink -d 'Copy the audit log to SPEC, in order, at least once, from a cursor kept across restarts: file:PATH[?max_bytes=100MiB], syslog+tcp://HOST:PORT, syslog+tls://HOST:PORT[?ca=PEM], https://HOST/PATH?secret_env=VAR; any takes required=true (refuse changes while it lags), max_lag=EVENTS (1000), max_age=5m, retry_max=30s, name=NAME. Repeatable; several SPECs may be separated by commas' -r
complete -c imadm -n "__fish_imadm_using_subcommand server; and not __fish_seen_subcommand_from init rotate-key rotate-audit-key" -l profile -d 'Saved server profile to use' -r
complete -c imadm -n "__fish_imadm_using_subcommand server; and not __fish_seen_subcommand_from init rotate-key rotate-audit-key" -l server -d 'Admin API base URL (https only)' -r
complete -c imadm -n "__fish_imadm_using_subcommand server; and not __fish_seen_subcommand_from init rotate-key rotate-audit-key" -l app-id -d 'Lanying app id, sent as the `app_id` header' -r
complete -c imadm -n "__fish_imadm_using_subcommand server; and not __fish_seen_subcommand_from init rotate-key rotate-audit-key" -l ca-cert -d 'Extra PEM CA certificate to trust' -r -F
complete -c imadm -n "__fish_imadm_using_subcommand server; and not __fish_seen_subcommand_from init rotate-key rotate-audit-key" -s o -l output -d 'Output format [default: table on a terminal, tsv when piped]' -r -f -a "table\t''
json\t''
jsonl\t''
csv\t''
tsv\t''"
complete -c imadm -n "__fish_imadm_using_subcommand server; and not __fish_seen_subcommand_from init rotate-key rotate-audit-key" -l config-dir -d 'Directory holding profiles [default: XDG config dir imadm/]' -r -F
complete -c imadm -n "__fish_imadm_using_subcommand server; and not __fish_seen_subcommand_from init rotate-key rotate-audit-key" -l color -d 'When to use colour (NO_COLOR is honoured)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c imadm -n "__fish_imadm_using_subcommand server; and not __fish_seen_subcommand_from init rotate-key rotate-audit-key" -l dev -d 'Development mode: temp data dir, generated CA and certificate, an owner with a printed password and TOTP secret, and a `dev` profile in the CLI config. With --data-dir, later --dev starts print the same logins (kept in DIR/dev-credentials.json); a data dir not made by --dev is refused'
complete -c imadm -n "__fish_imadm_using_subcommand server; and not __fish_seen_subcommand_from init rotate-key rotate-audit-key" -l lanying-only -d 'Serve only the Lanying-compatible API, as a plain Lanying deployment would (testing aid for the CLI\'s fallback)'
complete -c imadm -n "__fish_imadm_using_subcommand server; and not __fish_seen_subcommand_from init rotate-key rotate-audit-key" -l insecure-http -d 'Allow an http:// server URL, for a loopback address only'
complete -c imadm -n "__fish_imadm_using_subcommand server; and not __fish_seen_subcommand_from init rotate-key rotate-audit-key" -l no-input -d 'Never prompt; fail with a hint instead (implied when stdin is not a terminal)'
complete -c imadm -n "__fish_imadm_using_subcommand server; and not __fish_seen_subcommand_from init rotate-key rotate-audit-key" -s y -l yes -d 'Answer yes to confirmations'
complete -c imadm -n "__fish_imadm_using_subcommand server; and not __fish_seen_subcommand_from init rotate-key rotate-audit-key" -s v -l verbose -d 'More diagnostics on stderr (repeat for more); never secrets'
complete -c imadm -n "__fish_imadm_using_subcommand server; and not __fish_seen_subcommand_from init rotate-key rotate-audit-key" -s q -l quiet -d 'Fewer messages on stderr'
complete -c imadm -n "__fish_imadm_using_subcommand server; and not __fish_seen_subcommand_from init rotate-key rotate-audit-key" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c imadm -n "__fish_imadm_using_subcommand server; and not __fish_seen_subcommand_from init rotate-key rotate-audit-key" -s V -l version -d 'Print version'
complete -c imadm -n "__fish_imadm_using_subcommand server; and not __fish_seen_subcommand_from init rotate-key rotate-audit-key" -f -a "init" -d 'Bootstrap a production data dir and its first owner (one-time password)'
complete -c imadm -n "__fish_imadm_using_subcommand server; and not __fish_seen_subcommand_from init rotate-key rotate-audit-key" -f -a "rotate-key" -d 'Rotate the server key offline: a new active key, every sealed value re-sealed'
complete -c imadm -n "__fish_imadm_using_subcommand server; and not __fish_seen_subcommand_from init rotate-key rotate-audit-key" -f -a "rotate-audit-key" -d 'Rotate the audit signing key offline, with a hand-off signed by the old key'
complete -c imadm -n "__fish_imadm_using_subcommand server; and __fish_seen_subcommand_from init" -l data-dir -d 'Data directory to create' -r -F
complete -c imadm -n "__fish_imadm_using_subcommand server; and __fish_seen_subcommand_from init" -l username -d 'Username of the first owner' -r
complete -c imadm -n "__fish_imadm_using_subcommand server; and __fish_seen_subcommand_from init" -l database -d 'PostgreSQL database to initialise instead of a SQLite file in the data dir (as `imadm server --database`; also IMADM_DATABASE_URL)' -r
complete -c imadm -n "__fish_imadm_using_subcommand server; and __fish_seen_subcommand_from init" -l profile -d 'Saved server profile to use' -r
complete -c imadm -n "__fish_imadm_using_subcommand server; and __fish_seen_subcommand_from init" -l server -d 'Admin API base URL (https only)' -r
complete -c imadm -n "__fish_imadm_using_subcommand server; and __fish_seen_subcommand_from init" -l app-id -d 'Lanying app id, sent as the `app_id` header' -r
complete -c imadm -n "__fish_imadm_using_subcommand server; and __fish_seen_subcommand_from init" -l ca-cert -d 'Extra PEM CA certificate to trust' -r -F
complete -c imadm -n "__fish_imadm_using_subcommand server; and __fish_seen_subcommand_from init" -s o -l output -d 'Output format [default: table on a terminal, tsv when piped]' -r -f -a "table\t''
json\t''
jsonl\t''
csv\t''
tsv\t''"
complete -c imadm -n "__fish_imadm_using_subcommand server; and __fish_seen_subcommand_from init" -l config-dir -d 'Directory holding profiles [default: XDG config dir imadm/]' -r -F
complete -c imadm -n "__fish_imadm_using_subcommand server; and __fish_seen_subcommand_from init" -l color -d 'When to use colour (NO_COLOR is honoured)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c imadm -n "__fish_imadm_using_subcommand server; and __fish_seen_subcommand_from init" -l insecure-http -d 'Allow an http:// server URL, for a loopback address only'
complete -c imadm -n "__fish_imadm_using_subcommand server; and __fish_seen_subcommand_from init" -l no-input -d 'Never prompt; fail with a hint instead (implied when stdin is not a terminal)'
complete -c imadm -n "__fish_imadm_using_subcommand server; and __fish_seen_subcommand_from init" -s y -l yes -d 'Answer yes to confirmations'
complete -c imadm -n "__fish_imadm_using_subcommand server; and __fish_seen_subcommand_from init" -s v -l verbose -d 'More diagnostics on stderr (repeat for more); never secrets'
complete -c imadm -n "__fish_imadm_using_subcommand server; and __fish_seen_subcommand_from init" -s q -l quiet -d 'Fewer messages on stderr'
complete -c imadm -n "__fish_imadm_using_subcommand server; and __fish_seen_subcommand_from init" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c imadm -n "__fish_imadm_using_subcommand server; and __fish_seen_subcommand_from init" -s V -l version -d 'Print version'
complete -c imadm -n "__fish_imadm_using_subcommand server; and __fish_seen_subcommand_from rotate-key" -l data-dir -d 'Data directory of the server (stopped)' -r -F
complete -c imadm -n "__fish_imadm_using_subcommand server; and __fish_seen_subcommand_from rotate-key" -l profile -d 'Saved server profile to use' -r
complete -c imadm -n "__fish_imadm_using_subcommand server; and __fish_seen_subcommand_from rotate-key" -l server -d 'Admin API base URL (https only)' -r
complete -c imadm -n "__fish_imadm_using_subcommand server; and __fish_seen_subcommand_from rotate-key" -l app-id -d 'Lanying app id, sent as the `app_id` header' -r
complete -c imadm -n "__fish_imadm_using_subcommand server; and __fish_seen_subcommand_from rotate-key" -l ca-cert -d 'Extra PEM CA certificate to trust' -r -F
complete -c imadm -n "__fish_imadm_using_subcommand server; and __fish_seen_subcommand_from rotate-key" -s o -l output -d 'Output format [default: table on a terminal, tsv when piped]' -r -f -a "table\t''
json\t''
jsonl\t''
csv\t''
tsv\t''"
complete -c imadm -n "__fish_imadm_using_subcommand server; and __fish_seen_subcommand_from rotate-key" -l config-dir -d 'Directory holding profiles [default: XDG config dir imadm/]' -r -F
complete -c imadm -n "__fish_imadm_using_subcommand server; and __fish_seen_subcommand_from rotate-key" -l color -d 'When to use colour (NO_COLOR is honoured)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c imadm -n "__fish_imadm_using_subcommand server; and __fish_seen_subcommand_from rotate-key" -l insecure-http -d 'Allow an http:// server URL, for a loopback address only'
complete -c imadm -n "__fish_imadm_using_subcommand server; and __fish_seen_subcommand_from rotate-key" -l no-input -d 'Never prompt; fail with a hint instead (implied when stdin is not a terminal)'
complete -c imadm -n "__fish_imadm_using_subcommand server; and __fish_seen_subcommand_from rotate-key" -s y -l yes -d 'Answer yes to confirmations'
complete -c imadm -n "__fish_imadm_using_subcommand server; and __fish_seen_subcommand_from rotate-key" -s v -l verbose -d 'More diagnostics on stderr (repeat for more); never secrets'
complete -c imadm -n "__fish_imadm_using_subcommand server; and __fish_seen_subcommand_from rotate-key" -s q -l quiet -d 'Fewer messages on stderr'
complete -c imadm -n "__fish_imadm_using_subcommand server; and __fish_seen_subcommand_from rotate-key" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c imadm -n "__fish_imadm_using_subcommand server; and __fish_seen_subcommand_from rotate-key" -s V -l version -d 'Print version'
complete -c imadm -n "__fish_imadm_using_subcommand server; and __fish_seen_subcommand_from rotate-audit-key" -l data-dir -d 'Data directory of the server (stopped)' -r -F
complete -c imadm -n "__fish_imadm_using_subcommand server; and __fish_seen_subcommand_from rotate-audit-key" -l profile -d 'Saved server profile to use' -r
complete -c imadm -n "__fish_imadm_using_subcommand server; and __fish_seen_subcommand_from rotate-audit-key" -l server -d 'Admin API base URL (https only)' -r
complete -c imadm -n "__fish_imadm_using_subcommand server; and __fish_seen_subcommand_from rotate-audit-key" -l app-id -d 'Lanying app id, sent as the `app_id` header' -r
complete -c imadm -n "__fish_imadm_using_subcommand server; and __fish_seen_subcommand_from rotate-audit-key" -l ca-cert -d 'Extra PEM CA certificate to trust' -r -F
complete -c imadm -n "__fish_imadm_using_subcommand server; and __fish_seen_subcommand_from rotate-audit-key" -s o -l output -d 'Output format [default: table on a terminal, tsv when piped]' -r -f -a "table\t''
json\t''
jsonl\t''
csv\t''
tsv\t''"
complete -c imadm -n "__fish_imadm_using_subcommand server; and __fish_seen_subcommand_from rotate-audit-key" -l config-dir -d 'Directory holding profiles [default: XDG config dir imadm/]' -r -F
complete -c imadm -n "__fish_imadm_using_subcommand server; and __fish_seen_subcommand_from rotate-audit-key" -l color -d 'When to use colour (NO_COLOR is honoured)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c imadm -n "__fish_imadm_using_subcommand server; and __fish_seen_subcommand_from rotate-audit-key" -l insecure-http -d 'Allow an http:// server URL, for a loopback address only'
complete -c imadm -n "__fish_imadm_using_subcommand server; and __fish_seen_subcommand_from rotate-audit-key" -l no-input -d 'Never prompt; fail with a hint instead (implied when stdin is not a terminal)'
complete -c imadm -n "__fish_imadm_using_subcommand server; and __fish_seen_subcommand_from rotate-audit-key" -s y -l yes -d 'Answer yes to confirmations'
complete -c imadm -n "__fish_imadm_using_subcommand server; and __fish_seen_subcommand_from rotate-audit-key" -s v -l verbose -d 'More diagnostics on stderr (repeat for more); never secrets'
complete -c imadm -n "__fish_imadm_using_subcommand server; and __fish_seen_subcommand_from rotate-audit-key" -s q -l quiet -d 'Fewer messages on stderr'
complete -c imadm -n "__fish_imadm_using_subcommand server; and __fish_seen_subcommand_from rotate-audit-key" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c imadm -n "__fish_imadm_using_subcommand server; and __fish_seen_subcommand_from rotate-audit-key" -s V -l version -d 'Print version'
complete -c imadm -n "__fish_imadm_using_subcommand config; and not __fish_seen_subcommand_from get set list" -l profile -d 'Saved server profile to use' -r
complete -c imadm -n "__fish_imadm_using_subcommand config; and not __fish_seen_subcommand_from get set list" -l server -d 'Admin API base URL (https only)' -r
complete -c imadm -n "__fish_imadm_using_subcommand config; and not __fish_seen_subcommand_from get set list" -l app-id -d 'Lanying app id, sent as the `app_id` header' -r
complete -c imadm -n "__fish_imadm_using_subcommand config; and not __fish_seen_subcommand_from get set list" -l ca-cert -d 'Extra PEM CA certificate to trust' -r -F
complete -c imadm -n "__fish_imadm_using_subcommand config; and not __fish_seen_subcommand_from get set list" -s o -l output -d 'Output format [default: table on a terminal, tsv when piped]' -r -f -a "table\t''
json\t''
jsonl\t''
csv\t''
tsv\t''"
complete -c imadm -n "__fish_imadm_using_subcommand config; and not __fish_seen_subcommand_from get set list" -l config-dir -d 'Directory holding profiles [default: XDG config dir imadm/]' -r -F
complete -c imadm -n "__fish_imadm_using_subcommand config; and not __fish_seen_subcommand_from get set list" -l color -d 'When to use colour (NO_COLOR is honoured)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c imadm -n "__fish_imadm_using_subcommand config; and not __fish_seen_subcommand_from get set list" -l insecure-http -d 'Allow an http:// server URL, for a loopback address only'
complete -c imadm -n "__fish_imadm_using_subcommand config; and not __fish_seen_subcommand_from get set list" -l no-input -d 'Never prompt; fail with a hint instead (implied when stdin is not a terminal)'
complete -c imadm -n "__fish_imadm_using_subcommand config; and not __fish_seen_subcommand_from get set list" -s y -l yes -d 'Answer yes to confirmations'
complete -c imadm -n "__fish_imadm_using_subcommand config; and not __fish_seen_subcommand_from get set list" -s v -l verbose -d 'More diagnostics on stderr (repeat for more); never secrets'
complete -c imadm -n "__fish_imadm_using_subcommand config; and not __fish_seen_subcommand_from get set list" -s q -l quiet -d 'Fewer messages on stderr'
complete -c imadm -n "__fish_imadm_using_subcommand config; and not __fish_seen_subcommand_from get set list" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c imadm -n "__fish_imadm_using_subcommand config; and not __fish_seen_subcommand_from get set list" -s V -l version -d 'Print version'
complete -c imadm -n "__fish_imadm_using_subcommand config; and not __fish_seen_subcommand_from get set list" -f -a "get" -d 'Print one setting of the active profile'
complete -c imadm -n "__fish_imadm_using_subcommand config; and not __fish_seen_subcommand_from get set list" -f -a "set" -d 'Change one setting of the active profile'
complete -c imadm -n "__fish_imadm_using_subcommand config; and not __fish_seen_subcommand_from get set list" -f -a "list" -d 'List the active profile\'s settings'
complete -c imadm -n "__fish_imadm_using_subcommand config; and __fish_seen_subcommand_from get" -l profile -d 'Saved server profile to use' -r
complete -c imadm -n "__fish_imadm_using_subcommand config; and __fish_seen_subcommand_from get" -l server -d 'Admin API base URL (https only)' -r
complete -c imadm -n "__fish_imadm_using_subcommand config; and __fish_seen_subcommand_from get" -l app-id -d 'Lanying app id, sent as the `app_id` header' -r
complete -c imadm -n "__fish_imadm_using_subcommand config; and __fish_seen_subcommand_from get" -l ca-cert -d 'Extra PEM CA certificate to trust' -r -F
complete -c imadm -n "__fish_imadm_using_subcommand config; and __fish_seen_subcommand_from get" -s o -l output -d 'Output format [default: table on a terminal, tsv when piped]' -r -f -a "table\t''
json\t''
jsonl\t''
csv\t''
tsv\t''"
complete -c imadm -n "__fish_imadm_using_subcommand config; and __fish_seen_subcommand_from get" -l config-dir -d 'Directory holding profiles [default: XDG config dir imadm/]' -r -F
complete -c imadm -n "__fish_imadm_using_subcommand config; and __fish_seen_subcommand_from get" -l color -d 'When to use colour (NO_COLOR is honoured)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c imadm -n "__fish_imadm_using_subcommand config; and __fish_seen_subcommand_from get" -l insecure-http -d 'Allow an http:// server URL, for a loopback address only'
complete -c imadm -n "__fish_imadm_using_subcommand config; and __fish_seen_subcommand_from get" -l no-input -d 'Never prompt; fail with a hint instead (implied when stdin is not a terminal)'
complete -c imadm -n "__fish_imadm_using_subcommand config; and __fish_seen_subcommand_from get" -s y -l yes -d 'Answer yes to confirmations'
complete -c imadm -n "__fish_imadm_using_subcommand config; and __fish_seen_subcommand_from get" -s v -l verbose -d 'More diagnostics on stderr (repeat for more); never secrets'
complete -c imadm -n "__fish_imadm_using_subcommand config; and __fish_seen_subcommand_from get" -s q -l quiet -d 'Fewer messages on stderr'
complete -c imadm -n "__fish_imadm_using_subcommand config; and __fish_seen_subcommand_from get" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c imadm -n "__fish_imadm_using_subcommand config; and __fish_seen_subcommand_from get" -s V -l version -d 'Print version'
complete -c imadm -n "__fish_imadm_using_subcommand config; and __fish_seen_subcommand_from set" -l profile -d 'Saved server profile to use' -r
complete -c imadm -n "__fish_imadm_using_subcommand config; and __fish_seen_subcommand_from set" -l server -d 'Admin API base URL (https only)' -r
complete -c imadm -n "__fish_imadm_using_subcommand config; and __fish_seen_subcommand_from set" -l app-id -d 'Lanying app id, sent as the `app_id` header' -r
complete -c imadm -n "__fish_imadm_using_subcommand config; and __fish_seen_subcommand_from set" -l ca-cert -d 'Extra PEM CA certificate to trust' -r -F
complete -c imadm -n "__fish_imadm_using_subcommand config; and __fish_seen_subcommand_from set" -s o -l output -d 'Output format [default: table on a terminal, tsv when piped]' -r -f -a "table\t''
json\t''
jsonl\t''
csv\t''
tsv\t''"
complete -c imadm -n "__fish_imadm_using_subcommand config; and __fish_seen_subcommand_from set" -l config-dir -d 'Directory holding profiles [default: XDG config dir imadm/]' -r -F
complete -c imadm -n "__fish_imadm_using_subcommand config; and __fish_seen_subcommand_from set" -l color -d 'When to use colour (NO_COLOR is honoured)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c imadm -n "__fish_imadm_using_subcommand config; and __fish_seen_subcommand_from set" -l insecure-http -d 'Allow an http:// server URL, for a loopback address only'
complete -c imadm -n "__fish_imadm_using_subcommand config; and __fish_seen_subcommand_from set" -l no-input -d 'Never prompt; fail with a hint instead (implied when stdin is not a terminal)'
complete -c imadm -n "__fish_imadm_using_subcommand config; and __fish_seen_subcommand_from set" -s y -l yes -d 'Answer yes to confirmations'
complete -c imadm -n "__fish_imadm_using_subcommand config; and __fish_seen_subcommand_from set" -s v -l verbose -d 'More diagnostics on stderr (repeat for more); never secrets'
complete -c imadm -n "__fish_imadm_using_subcommand config; and __fish_seen_subcommand_from set" -s q -l quiet -d 'Fewer messages on stderr'
complete -c imadm -n "__fish_imadm_using_subcommand config; and __fish_seen_subcommand_from set" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c imadm -n "__fish_imadm_using_subcommand config; and __fish_seen_subcommand_from set" -s V -l version -d 'Print version'
complete -c imadm -n "__fish_imadm_using_subcommand config; and __fish_seen_subcommand_from list" -l profile -d 'Saved server profile to use' -r
complete -c imadm -n "__fish_imadm_using_subcommand config; and __fish_seen_subcommand_from list" -l server -d 'Admin API base URL (https only)' -r
complete -c imadm -n "__fish_imadm_using_subcommand config; and __fish_seen_subcommand_from list" -l app-id -d 'Lanying app id, sent as the `app_id` header' -r
complete -c imadm -n "__fish_imadm_using_subcommand config; and __fish_seen_subcommand_from list" -l ca-cert -d 'Extra PEM CA certificate to trust' -r -F
complete -c imadm -n "__fish_imadm_using_subcommand config; and __fish_seen_subcommand_from list" -s o -l output -d 'Output format [default: table on a terminal, tsv when piped]' -r -f -a "table\t''
json\t''
jsonl\t''
csv\t''
tsv\t''"
complete -c imadm -n "__fish_imadm_using_subcommand config; and __fish_seen_subcommand_from list" -l config-dir -d 'Directory holding profiles [default: XDG config dir imadm/]' -r -F
complete -c imadm -n "__fish_imadm_using_subcommand config; and __fish_seen_subcommand_from list" -l color -d 'When to use colour (NO_COLOR is honoured)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c imadm -n "__fish_imadm_using_subcommand config; and __fish_seen_subcommand_from list" -l insecure-http -d 'Allow an http:// server URL, for a loopback address only'
complete -c imadm -n "__fish_imadm_using_subcommand config; and __fish_seen_subcommand_from list" -l no-input -d 'Never prompt; fail with a hint instead (implied when stdin is not a terminal)'
complete -c imadm -n "__fish_imadm_using_subcommand config; and __fish_seen_subcommand_from list" -s y -l yes -d 'Answer yes to confirmations'
complete -c imadm -n "__fish_imadm_using_subcommand config; and __fish_seen_subcommand_from list" -s v -l verbose -d 'More diagnostics on stderr (repeat for more); never secrets'
complete -c imadm -n "__fish_imadm_using_subcommand config; and __fish_seen_subcommand_from list" -s q -l quiet -d 'Fewer messages on stderr'
complete -c imadm -n "__fish_imadm_using_subcommand config; and __fish_seen_subcommand_from list" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c imadm -n "__fish_imadm_using_subcommand config; and __fish_seen_subcommand_from list" -s V -l version -d 'Print version'
complete -c imadm -n "__fish_imadm_using_subcommand completion" -l profile -d 'Saved server profile to use' -r
complete -c imadm -n "__fish_imadm_using_subcommand completion" -l server -d 'Admin API base URL (https only)' -r
complete -c imadm -n "__fish_imadm_using_subcommand completion" -l app-id -d 'Lanying app id, sent as the `app_id` header' -r
complete -c imadm -n "__fish_imadm_using_subcommand completion" -l ca-cert -d 'Extra PEM CA certificate to trust' -r -F
complete -c imadm -n "__fish_imadm_using_subcommand completion" -s o -l output -d 'Output format [default: table on a terminal, tsv when piped]' -r -f -a "table\t''
json\t''
jsonl\t''
csv\t''
tsv\t''"
complete -c imadm -n "__fish_imadm_using_subcommand completion" -l config-dir -d 'Directory holding profiles [default: XDG config dir imadm/]' -r -F
complete -c imadm -n "__fish_imadm_using_subcommand completion" -l color -d 'When to use colour (NO_COLOR is honoured)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c imadm -n "__fish_imadm_using_subcommand completion" -l insecure-http -d 'Allow an http:// server URL, for a loopback address only'
complete -c imadm -n "__fish_imadm_using_subcommand completion" -l no-input -d 'Never prompt; fail with a hint instead (implied when stdin is not a terminal)'
complete -c imadm -n "__fish_imadm_using_subcommand completion" -s y -l yes -d 'Answer yes to confirmations'
complete -c imadm -n "__fish_imadm_using_subcommand completion" -s v -l verbose -d 'More diagnostics on stderr (repeat for more); never secrets'
complete -c imadm -n "__fish_imadm_using_subcommand completion" -s q -l quiet -d 'Fewer messages on stderr'
complete -c imadm -n "__fish_imadm_using_subcommand completion" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c imadm -n "__fish_imadm_using_subcommand completion" -s V -l version -d 'Print version'
complete -c imadm -n "__fish_imadm_using_subcommand help" -l profile -d 'Saved server profile to use' -r
complete -c imadm -n "__fish_imadm_using_subcommand help" -l server -d 'Admin API base URL (https only)' -r
complete -c imadm -n "__fish_imadm_using_subcommand help" -l app-id -d 'Lanying app id, sent as the `app_id` header' -r
complete -c imadm -n "__fish_imadm_using_subcommand help" -l ca-cert -d 'Extra PEM CA certificate to trust' -r -F
complete -c imadm -n "__fish_imadm_using_subcommand help" -s o -l output -d 'Output format [default: table on a terminal, tsv when piped]' -r -f -a "table\t''
json\t''
jsonl\t''
csv\t''
tsv\t''"
complete -c imadm -n "__fish_imadm_using_subcommand help" -l config-dir -d 'Directory holding profiles [default: XDG config dir imadm/]' -r -F
complete -c imadm -n "__fish_imadm_using_subcommand help" -l color -d 'When to use colour (NO_COLOR is honoured)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c imadm -n "__fish_imadm_using_subcommand help" -l insecure-http -d 'Allow an http:// server URL, for a loopback address only'
complete -c imadm -n "__fish_imadm_using_subcommand help" -l no-input -d 'Never prompt; fail with a hint instead (implied when stdin is not a terminal)'
complete -c imadm -n "__fish_imadm_using_subcommand help" -s y -l yes -d 'Answer yes to confirmations'
complete -c imadm -n "__fish_imadm_using_subcommand help" -s v -l verbose -d 'More diagnostics on stderr (repeat for more); never secrets'
complete -c imadm -n "__fish_imadm_using_subcommand help" -s q -l quiet -d 'Fewer messages on stderr'
complete -c imadm -n "__fish_imadm_using_subcommand help" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c imadm -n "__fish_imadm_using_subcommand help" -s V -l version -d 'Print version'
complete -c imadm -n "__fish_imadm_using_subcommand __generate-assets" -l out -d 'Repository root to write completions/ and man/ under' -r -F
complete -c imadm -n "__fish_imadm_using_subcommand __generate-assets" -l profile -d 'Saved server profile to use' -r
complete -c imadm -n "__fish_imadm_using_subcommand __generate-assets" -l server -d 'Admin API base URL (https only)' -r
complete -c imadm -n "__fish_imadm_using_subcommand __generate-assets" -l app-id -d 'Lanying app id, sent as the `app_id` header' -r
complete -c imadm -n "__fish_imadm_using_subcommand __generate-assets" -l ca-cert -d 'Extra PEM CA certificate to trust' -r -F
complete -c imadm -n "__fish_imadm_using_subcommand __generate-assets" -s o -l output -d 'Output format [default: table on a terminal, tsv when piped]' -r -f -a "table\t''
json\t''
jsonl\t''
csv\t''
tsv\t''"
complete -c imadm -n "__fish_imadm_using_subcommand __generate-assets" -l config-dir -d 'Directory holding profiles [default: XDG config dir imadm/]' -r -F
complete -c imadm -n "__fish_imadm_using_subcommand __generate-assets" -l color -d 'When to use colour (NO_COLOR is honoured)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c imadm -n "__fish_imadm_using_subcommand __generate-assets" -l insecure-http -d 'Allow an http:// server URL, for a loopback address only'
complete -c imadm -n "__fish_imadm_using_subcommand __generate-assets" -l no-input -d 'Never prompt; fail with a hint instead (implied when stdin is not a terminal)'
complete -c imadm -n "__fish_imadm_using_subcommand __generate-assets" -s y -l yes -d 'Answer yes to confirmations'
complete -c imadm -n "__fish_imadm_using_subcommand __generate-assets" -s v -l verbose -d 'More diagnostics on stderr (repeat for more); never secrets'
complete -c imadm -n "__fish_imadm_using_subcommand __generate-assets" -s q -l quiet -d 'Fewer messages on stderr'
complete -c imadm -n "__fish_imadm_using_subcommand __generate-assets" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c imadm -n "__fish_imadm_using_subcommand __generate-assets" -s V -l version -d 'Print version'
complete -c imadm -n "__fish_imadm_using_subcommand __synth-audit-report" -l out -r -F
complete -c imadm -n "__fish_imadm_using_subcommand __synth-audit-report" -l profile -d 'Saved server profile to use' -r
complete -c imadm -n "__fish_imadm_using_subcommand __synth-audit-report" -l server -d 'Admin API base URL (https only)' -r
complete -c imadm -n "__fish_imadm_using_subcommand __synth-audit-report" -l app-id -d 'Lanying app id, sent as the `app_id` header' -r
complete -c imadm -n "__fish_imadm_using_subcommand __synth-audit-report" -l ca-cert -d 'Extra PEM CA certificate to trust' -r -F
complete -c imadm -n "__fish_imadm_using_subcommand __synth-audit-report" -s o -l output -d 'Output format [default: table on a terminal, tsv when piped]' -r -f -a "table\t''
json\t''
jsonl\t''
csv\t''
tsv\t''"
complete -c imadm -n "__fish_imadm_using_subcommand __synth-audit-report" -l config-dir -d 'Directory holding profiles [default: XDG config dir imadm/]' -r -F
complete -c imadm -n "__fish_imadm_using_subcommand __synth-audit-report" -l color -d 'When to use colour (NO_COLOR is honoured)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c imadm -n "__fish_imadm_using_subcommand __synth-audit-report" -l insecure-http -d 'Allow an http:// server URL, for a loopback address only'
complete -c imadm -n "__fish_imadm_using_subcommand __synth-audit-report" -l no-input -d 'Never prompt; fail with a hint instead (implied when stdin is not a terminal)'
complete -c imadm -n "__fish_imadm_using_subcommand __synth-audit-report" -s y -l yes -d 'Answer yes to confirmations'
complete -c imadm -n "__fish_imadm_using_subcommand __synth-audit-report" -s v -l verbose -d 'More diagnostics on stderr (repeat for more); never secrets'
complete -c imadm -n "__fish_imadm_using_subcommand __synth-audit-report" -s q -l quiet -d 'Fewer messages on stderr'
complete -c imadm -n "__fish_imadm_using_subcommand __synth-audit-report" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c imadm -n "__fish_imadm_using_subcommand __synth-audit-report" -s V -l version -d 'Print version'
complete -c imadm -n "__fish_imadm_using_subcommand __seed-audit" -l data-dir -d 'The server\'s data directory (holding imadm.db; with IMADM_DATABASE_URL, that database instead)' -r -F
complete -c imadm -n "__fish_imadm_using_subcommand __seed-audit" -l profile -d 'Saved server profile to use' -r
complete -c imadm -n "__fish_imadm_using_subcommand __seed-audit" -l server -d 'Admin API base URL (https only)' -r
complete -c imadm -n "__fish_imadm_using_subcommand __seed-audit" -l app-id -d 'Lanying app id, sent as the `app_id` header' -r
complete -c imadm -n "__fish_imadm_using_subcommand __seed-audit" -l ca-cert -d 'Extra PEM CA certificate to trust' -r -F
complete -c imadm -n "__fish_imadm_using_subcommand __seed-audit" -s o -l output -d 'Output format [default: table on a terminal, tsv when piped]' -r -f -a "table\t''
json\t''
jsonl\t''
csv\t''
tsv\t''"
complete -c imadm -n "__fish_imadm_using_subcommand __seed-audit" -l config-dir -d 'Directory holding profiles [default: XDG config dir imadm/]' -r -F
complete -c imadm -n "__fish_imadm_using_subcommand __seed-audit" -l color -d 'When to use colour (NO_COLOR is honoured)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c imadm -n "__fish_imadm_using_subcommand __seed-audit" -l insecure-http -d 'Allow an http:// server URL, for a loopback address only'
complete -c imadm -n "__fish_imadm_using_subcommand __seed-audit" -l no-input -d 'Never prompt; fail with a hint instead (implied when stdin is not a terminal)'
complete -c imadm -n "__fish_imadm_using_subcommand __seed-audit" -s y -l yes -d 'Answer yes to confirmations'
complete -c imadm -n "__fish_imadm_using_subcommand __seed-audit" -s v -l verbose -d 'More diagnostics on stderr (repeat for more); never secrets'
complete -c imadm -n "__fish_imadm_using_subcommand __seed-audit" -s q -l quiet -d 'Fewer messages on stderr'
complete -c imadm -n "__fish_imadm_using_subcommand __seed-audit" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c imadm -n "__fish_imadm_using_subcommand __seed-audit" -s V -l version -d 'Print version'
