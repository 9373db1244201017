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
complete -c imadm -n "__fish_imadm_needs_command" -f -a "mfa" -d 'Manage your multi-factor authentication (TOTP)'
complete -c imadm -n "__fish_imadm_needs_command" -f -a "server" -d 'Run the reference admin API server'
complete -c imadm -n "__fish_imadm_needs_command" -f -a "config" -d 'Read and change settings and profiles'
complete -c imadm -n "__fish_imadm_needs_command" -f -a "completion" -d 'Print a shell completion script'
complete -c imadm -n "__fish_imadm_needs_command" -f -a "help" -d 'Help on a command or topic (`imadm help exit-codes`)'
complete -c imadm -n "__fish_imadm_needs_command" -f -a "__generate-assets" -d 'Regenerate completions/ and man/ (for maintainers)'
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
complete -c imadm -n "__fish_imadm_using_subcommand mfa; and not __fish_seen_subcommand_from enroll status disable recovery-codes" -l profile -d 'Saved server profile to use' -r
complete -c imadm -n "__fish_imadm_using_subcommand mfa; and not __fish_seen_subcommand_from enroll status disable recovery-codes" -l server -d 'Admin API base URL (https only)' -r
complete -c imadm -n "__fish_imadm_using_subcommand mfa; and not __fish_seen_subcommand_from enroll status disable recovery-codes" -l app-id -d 'Lanying app id, sent as the `app_id` header' -r
complete -c imadm -n "__fish_imadm_using_subcommand mfa; and not __fish_seen_subcommand_from enroll status disable recovery-codes" -l ca-cert -d 'Extra PEM CA certificate to trust' -r -F
complete -c imadm -n "__fish_imadm_using_subcommand mfa; and not __fish_seen_subcommand_from enroll status disable recovery-codes" -s o -l output -d 'Output format [default: table on a terminal, tsv when piped]' -r -f -a "table\t''
json\t''
jsonl\t''
csv\t''
tsv\t''"
complete -c imadm -n "__fish_imadm_using_subcommand mfa; and not __fish_seen_subcommand_from enroll status disable recovery-codes" -l config-dir -d 'Directory holding profiles [default: XDG config dir imadm/]' -r -F
complete -c imadm -n "__fish_imadm_using_subcommand mfa; and not __fish_seen_subcommand_from enroll status disable recovery-codes" -l color -d 'When to use colour (NO_COLOR is honoured)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c imadm -n "__fish_imadm_using_subcommand mfa; and not __fish_seen_subcommand_from enroll status disable recovery-codes" -l insecure-http -d 'Allow an http:// server URL, for a loopback address only'
complete -c imadm -n "__fish_imadm_using_subcommand mfa; and not __fish_seen_subcommand_from enroll status disable recovery-codes" -l no-input -d 'Never prompt; fail with a hint instead (implied when stdin is not a terminal)'
complete -c imadm -n "__fish_imadm_using_subcommand mfa; and not __fish_seen_subcommand_from enroll status disable recovery-codes" -s y -l yes -d 'Answer yes to confirmations'
complete -c imadm -n "__fish_imadm_using_subcommand mfa; and not __fish_seen_subcommand_from enroll status disable recovery-codes" -s v -l verbose -d 'More diagnostics on stderr (repeat for more); never secrets'
complete -c imadm -n "__fish_imadm_using_subcommand mfa; and not __fish_seen_subcommand_from enroll status disable recovery-codes" -s q -l quiet -d 'Fewer messages on stderr'
complete -c imadm -n "__fish_imadm_using_subcommand mfa; and not __fish_seen_subcommand_from enroll status disable recovery-codes" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c imadm -n "__fish_imadm_using_subcommand mfa; and not __fish_seen_subcommand_from enroll status disable recovery-codes" -s V -l version -d 'Print version'
complete -c imadm -n "__fish_imadm_using_subcommand mfa; and not __fish_seen_subcommand_from enroll status disable recovery-codes" -f -a "enroll" -d 'Enrol a TOTP authenticator (QR code), get recovery codes'
complete -c imadm -n "__fish_imadm_using_subcommand mfa; and not __fish_seen_subcommand_from enroll status disable recovery-codes" -f -a "status" -d 'Show whether MFA is enrolled and recovery codes left'
complete -c imadm -n "__fish_imadm_using_subcommand mfa; and not __fish_seen_subcommand_from enroll status disable recovery-codes" -f -a "disable" -d 'Remove your TOTP authenticator (step-up MFA)'
complete -c imadm -n "__fish_imadm_using_subcommand mfa; and not __fish_seen_subcommand_from enroll status disable recovery-codes" -f -a "recovery-codes" -d 'Count recovery codes left, or --regenerate a new set (step-up MFA)'
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
complete -c imadm -n "__fish_imadm_using_subcommand server; and not __fish_seen_subcommand_from init" -l listen -d 'Address to listen on (port 0 picks a free port)' -r
complete -c imadm -n "__fish_imadm_using_subcommand server; and not __fish_seen_subcommand_from init" -l data-dir -d 'Data directory (SQLite database, server key, dev certificates)' -r -F
complete -c imadm -n "__fish_imadm_using_subcommand server; and not __fish_seen_subcommand_from init" -l tls-cert -d 'PEM certificate chain (required without --dev)' -r -F
complete -c imadm -n "__fish_imadm_using_subcommand server; and not __fish_seen_subcommand_from init" -l tls-key -d 'PEM private key for --tls-cert' -r -F
complete -c imadm -n "__fish_imadm_using_subcommand server; and not __fish_seen_subcommand_from init" -l access-ttl -d 'Access-token lifetime in seconds (testing aid)' -r
complete -c imadm -n "__fish_imadm_using_subcommand server; and not __fish_seen_subcommand_from init" -l lockout-base -d 'Base lockout delay in seconds after 5 failures (testing aid)' -r
complete -c imadm -n "__fish_imadm_using_subcommand server; and not __fish_seen_subcommand_from init" -l profile -d 'Saved server profile to use' -r
complete -c imadm -n "__fish_imadm_using_subcommand server; and not __fish_seen_subcommand_from init" -l server -d 'Admin API base URL (https only)' -r
complete -c imadm -n "__fish_imadm_using_subcommand server; and not __fish_seen_subcommand_from init" -l app-id -d 'Lanying app id, sent as the `app_id` header' -r
complete -c imadm -n "__fish_imadm_using_subcommand server; and not __fish_seen_subcommand_from init" -l ca-cert -d 'Extra PEM CA certificate to trust' -r -F
complete -c imadm -n "__fish_imadm_using_subcommand server; and not __fish_seen_subcommand_from init" -s o -l output -d 'Output format [default: table on a terminal, tsv when piped]' -r -f -a "table\t''
json\t''
jsonl\t''
csv\t''
tsv\t''"
complete -c imadm -n "__fish_imadm_using_subcommand server; and not __fish_seen_subcommand_from init" -l config-dir -d 'Directory holding profiles [default: XDG config dir imadm/]' -r -F
complete -c imadm -n "__fish_imadm_using_subcommand server; and not __fish_seen_subcommand_from init" -l color -d 'When to use colour (NO_COLOR is honoured)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c imadm -n "__fish_imadm_using_subcommand server; and not __fish_seen_subcommand_from init" -l dev -d 'Development mode: temp data dir, generated CA and certificate, an owner with a printed password and TOTP secret, and a `dev` profile in the CLI config'
complete -c imadm -n "__fish_imadm_using_subcommand server; and not __fish_seen_subcommand_from init" -l insecure-http -d 'Allow an http:// server URL, for a loopback address only'
complete -c imadm -n "__fish_imadm_using_subcommand server; and not __fish_seen_subcommand_from init" -l no-input -d 'Never prompt; fail with a hint instead (implied when stdin is not a terminal)'
complete -c imadm -n "__fish_imadm_using_subcommand server; and not __fish_seen_subcommand_from init" -s y -l yes -d 'Answer yes to confirmations'
complete -c imadm -n "__fish_imadm_using_subcommand server; and not __fish_seen_subcommand_from init" -s v -l verbose -d 'More diagnostics on stderr (repeat for more); never secrets'
complete -c imadm -n "__fish_imadm_using_subcommand server; and not __fish_seen_subcommand_from init" -s q -l quiet -d 'Fewer messages on stderr'
complete -c imadm -n "__fish_imadm_using_subcommand server; and not __fish_seen_subcommand_from init" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c imadm -n "__fish_imadm_using_subcommand server; and not __fish_seen_subcommand_from init" -s V -l version -d 'Print version'
complete -c imadm -n "__fish_imadm_using_subcommand server; and not __fish_seen_subcommand_from init" -f -a "init" -d 'Bootstrap a production data dir and its first owner (one-time password)'
complete -c imadm -n "__fish_imadm_using_subcommand server; and __fish_seen_subcommand_from init" -l data-dir -d 'Data directory to create' -r -F
complete -c imadm -n "__fish_imadm_using_subcommand server; and __fish_seen_subcommand_from init" -l username -d 'Username of the first owner' -r
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
