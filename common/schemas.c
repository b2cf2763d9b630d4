/* The services' configuration keys (pl_schemas.h). A key added to a
 * service goes here first: the supervisor then accepts it, --help lists
 * it, and the service reads it with pl_schema_int/bool/str. Keep the
 * man pages' lists (docs/<service>.8) in step. */
#include "pl_schemas.h"

#include <string.h>

#include "pl_util.h"

#define MB_MAX (1LL << 30)

/* Every service that opens the directory reads it here by default. */
#define SK_DIRECTORY                                                          \
	{ "directory", PL_SK_PATH, 0, 0, 0, NULL, NULL,                        \
	  "directory database (default <state_dir>/directory/directory.db)" }

#define SK_TLS                                                                \
	{ "tls_cert", PL_SK_PATH, 0, 0, 0, NULL, "tls_key",                    \
	  "PEM certificate (default: self-signed, generated)" },               \
	{ "tls_key", PL_SK_PATH, 0, 0, 0, NULL, "tls_cert",                    \
	  "its PEM private key" }

static const pl_skey_t holder_keys[] = {
	{ "expiry_hours", PL_SK_INT, 1, 24 * 365, 24, NULL, NULL,
	  "unreleased jobs are shredded after" },
	{ "expiry_seconds", PL_SK_INT, 0, 86400LL * 365, 0, NULL, NULL,
	  "finer override of expiry_hours (0: off)" },
	{ "expiry_check_s", PL_SK_INT, 1, 3600, 60, NULL, NULL,
	  "how often expiry runs" },
	{ "quota_user_mb", PL_SK_INT, 0, MB_MAX, 0, NULL, NULL,
	  "per user (0 = unlimited)" },
	{ "quota_total_mb", PL_SK_INT, 0, MB_MAX, 0, NULL, NULL,
	  "all users (0 = unlimited)" },
	{ "report_titles", PL_SK_BOOL, 0, 1, 1, NULL, NULL,
	  "titles in job-events.jsonl" },
	{ "print_connect_timeout_s", PL_SK_INT, 1, 600, 10, NULL, NULL,
	  "connecting to a printer" },
	{ "print_timeout_s", PL_SK_INT, 1, 3600, 60, NULL, NULL,
	  "printer I/O timeout" },
	{ "print_workers", PL_SK_INT, 1, 64, 32, NULL, NULL,
	  "releases in flight at once" },
	{ "refuse_offline_printers", PL_SK_BOOL, 0, 1, 0, NULL, NULL,
	  "refuse at once a release to a printer SNMP saw offline lately" },
	SK_DIRECTORY,
	PL_SCHEMA_END,
};

const pl_schema_t pl_schema_holder = { "(held jobs)", holder_keys, NULL };

static const pl_skey_t offlineprint_keys[] = {
	SK_TLS,
	{ "max_job_mb", PL_SK_INT, 1, 1 << 20, 2048, NULL, NULL,
	  "largest single job" },
	{ "client_timeout_s", PL_SK_INT, 1, 3600, 30, NULL, NULL,
	  "a stalled upload; silence between jobs" },
	{ "max_clients", PL_SK_INT, 1, 100000, 256, NULL, NULL,
	  "clients connected at once" },
	{ "auth_deadline_s", PL_SK_INT, 1, 3600, 10, NULL, NULL,
	  "TLS and an authenticated SUBMIT_BEGIN within this of connecting" },
	{ "max_clients_per_address", PL_SK_INT, 0, 100000, 16, NULL, NULL,
	  "connections from one address (IPv6: one /64) at once; 0 = no cap" },
	{ "auth_reserve_pct", PL_SK_INT, 0, 90, 25, NULL, NULL,
	  "share of max_clients kept for authenticated connections" },
	{ "min_upload_kib_s", PL_SK_INT, 0, 1 << 20, 1, NULL, NULL,
	  "an upload slower than this over upload_window_s is dropped; 0 = off" },
	{ "upload_window_s", PL_SK_INT, 1, 3600, 30, NULL, NULL,
	  "the window over which min_upload_kib_s is measured" },
	PL_SCHEMA_END,
};

const pl_schema_t pl_schema_offlineprint = {
	"PrinterLogicServiceOfflinePrint", offlineprint_keys, &pl_schema_holder
};

static const pl_skey_t airprint_keys[] = {
	SK_TLS,
	{ "max_job_mb", PL_SK_INT, 1, 4096, 100, NULL, NULL,
	  "largest document (held in memory while it is converted)" },
	{ "client_timeout_s", PL_SK_INT, 1, 3600, 30, NULL, NULL,
	  "a stalled request; silence between requests" },
	{ "max_clients", PL_SK_INT, 1, 1024, 32, NULL, NULL,
	  "connections at once (one worker thread each)" },
	{ "job_table", PL_SK_INT, 2, 1024, 1024, NULL, NULL,
	  "IPP jobs kept in full for Get-Jobs (in flight, newest finished or held); "
	  "older held jobs are answered from the store" },
	{ "max_user_jobs_in_flight", PL_SK_INT, 1, 1024, 4, NULL, NULL,
	  "one user's jobs being sent or waiting for their document (Create-Job); "
	  "at most half of job_table" },
	{ "auth_max_failures", PL_SK_INT, 1, 1000, 5, NULL, NULL,
	  "failed logins from one address, or for one user, before a lock-out" },
	{ "auth_lockout_s", PL_SK_INT, 1, 86400, 60, NULL, NULL,
	  "the lock-out" },
	{ "printer_name", PL_SK_STRING, 0, 0, 0, "Service Client", NULL,
	  "the name phones show" },
	{ "location", PL_SK_STRING, 0, 0, 0, "", NULL, "printer-location" },
	{ "hostname", PL_SK_STRING, 0, 0, 0, NULL, NULL,
	  "host name in printer URIs (default: the client's Host header)" },
	{ "ldap_uri", PL_SK_STRING, 0, 0, 0, NULL, "ldap_user_dn",
	  "ldaps://host: check passwords by a bind as the user too" },
	{ "ldap_user_dn", PL_SK_STRING, 0, 0, 0, NULL, "ldap_uri",
	  "the user's DN, %s for the user name (uid=%s,ou=people,dc=example,dc=org)" },
	{ "ldap_ca", PL_SK_PATH, 0, 0, 0, NULL, NULL,
	  "PEM CA certificate of the LDAP server" },
	{ "dns_sd", PL_SK_BOOL, 0, 1, 1, NULL, NULL,
	  "advertise the printer by multicast DNS-SD (avahi-daemon)" },
	PL_SCHEMA_END,
};

const pl_schema_t pl_schema_airprint = {
	"PrinterLogicServiceAirprint", airprint_keys, &pl_schema_holder
};

static const pl_skey_t badgerelease_keys[] = {
	{ "dedupe_ms", PL_SK_INT, 0, 600000, 3000, NULL, NULL,
	  "the same badge again within this counts once" },
	{ "refresh_s", PL_SK_INT, 1, 3600, 10, NULL, NULL,
	  "how often the readers are re-read from the directory" },
	{ "max_connections", PL_SK_INT, 1, PL_SCHEMA_BR_MAX_READERS * 4, 1024,
	  NULL, NULL, "reader connections at once" },
	{ "redial_max_ms", PL_SK_INT, 500, 3600000, 30000, NULL, NULL,
	  "longest wait before dialling a reader again" },
	SK_DIRECTORY,
	PL_SCHEMA_END,
};

const pl_schema_t pl_schema_badgerelease = {
	"PrinterLogicServiceSimpleBadgeRelease", badgerelease_keys, NULL
};

static const pl_skey_t console_keys[] = {
	SK_TLS,
	{ "session_idle_s", PL_SK_INT, 5, 86400, 1800, NULL, NULL,
	  "an unused session expires" },
	{ "session_max_s", PL_SK_INT, 10, 604800, 43200, NULL, NULL,
	  "a session expires, used or not" },
	{ "login_max_failures", PL_SK_INT, 1, 100, 5, NULL, NULL,
	  "failed logins before a lock-out" },
	{ "login_lockout_s", PL_SK_INT, 1, 86400, 300, NULL, NULL,
	  "lock-out of a name from an address, or of an address (doubles)" },
	{ "login_name_backoff_s", PL_SK_INT, 1, 3600, 30, NULL, NULL,
	  "longest pause between checks for a name failing from anywhere" },
	{ "max_connections", PL_SK_INT, 4, 10000, 128, NULL, NULL,
	  "HTTPS connections at once (a quarter kept for requests in progress)" },
	{ "max_connections_per_address", PL_SK_INT, 0, 10000, 32, NULL, NULL,
	  "connections from one address (IPv6: one /64); 0 = no cap" },
	{ "request_timeout_s", PL_SK_INT, 1, 3600, 20, NULL, NULL,
	  "a whole request within this of connecting or of the last answer" },
	{ "assets_dir", PL_SK_PATH, 0, 0, 0, PL_PREFIX "/share/plsc/console", NULL,
	  "the pages" },
	SK_DIRECTORY,
	{ "control_socket", PL_SK_PATH, 0, 0, 0, NULL, NULL,
	  "the supervisor's (default: the one it passes)" },
	PL_SCHEMA_END,
};

const pl_schema_t pl_schema_console = { "plsc-console", console_keys, NULL };

static const pl_skey_t directory_keys[] = {
	SK_DIRECTORY,
	PL_SCHEMA_END,
};

const pl_schema_t pl_schema_directory = { "plsc-directory", directory_keys, NULL };

static const pl_skey_t identitysync_keys[] = {
	{ "uri", PL_SK_STRING, 0, 0, 0, NULL, "ca_file",
	  "ldaps://host[:port], or ldap://host[:port] with starttls (none: no LDAP)" },
	{ "starttls", PL_SK_BOOL, 0, 1, 0, NULL, NULL,
	  "StartTLS on an ldap:// URI (required for one)" },
	{ "ca_file", PL_SK_PATH, 0, 0, 0, NULL, "uri",
	  "PEM CA the server's certificate must chain to" },
	{ "bind_dn", PL_SK_STRING, 0, 0, 0, NULL, "uri",
	  "the read-only account (its password: set-password)" },
	{ "base_dns", PL_SK_ARRAY, 0, 0, 0, NULL, NULL,
	  "where the users are: 1 to 8 DNs, searched in turn" },
	{ "server_type", PL_SK_STRING, 0, 0, 0, "openldap", NULL,
	  "openldap or ad: the defaults of the attributes below" },
	{ "filter", PL_SK_STRING, 0, 0, 0, NULL, NULL,
	  "which entries are users (default per server_type)" },
	{ "key_attr", PL_SK_STRING, 0, 0, 0, NULL, NULL,
	  "stable key (entryUUID; ad: objectGUID)" },
	{ "username_attr", PL_SK_STRING, 0, 0, 0, NULL, NULL,
	  "user name (uid; ad: sAMAccountName)" },
	{ "display_name_attr", PL_SK_STRING, 0, 0, 0, NULL, NULL,
	  "display name (cn; ad: displayName)" },
	{ "mail_attrs", PL_SK_STRING, 0, 0, 0, "mail", NULL,
	  "e-mail attributes, comma-separated (at most 4)" },
	{ "group_attr", PL_SK_STRING, 0, 0, 0, "memberOf", NULL,
	  "group DNs of a user (\"\": no groups)" },
	{ "group_base_dn", PL_SK_STRING, 0, 0, 0, "", NULL,
	  "groups from a search here instead of group_attr (\"\": group_attr)" },
	{ "group_filter", PL_SK_STRING, 0, 0, 0, NULL, NULL,
	  "which entries are groups (groupOfNames; ad: group)" },
	{ "group_name_attr", PL_SK_STRING, 0, 0, 0, "cn", NULL,
	  "a group's name" },
	{ "group_member_attr", PL_SK_STRING, 0, 0, 0, "member", NULL,
	  "a group's member DNs (read in ranges when the server serves them so)" },
	{ "pin_attr", PL_SK_STRING, 0, 0, 0, "", NULL,
	  "the PIN (4 to 32 digits; \"\": PINs are not synced)" },
	{ "badge_attrs", PL_SK_STRING, 0, 0, 0, "", NULL,
	  "badge attributes as ATTR:hex or ATTR:dec, comma-separated" },
	{ "change_attr", PL_SK_STRING, 0, 0, 0, NULL, NULL,
	  "incremental high-water mark (modifyTimestamp; ad: uSNChanged)" },
	{ "incremental", PL_SK_STRING, 0, 0, 0, "auto", NULL,
	  "how an incremental sync reads changes: syncrepl (RFC 4533, a cookie), timestamp "
	  "(change_attr and a presence pass) or auto (syncrepl when offered)" },
	{ "lowercase_usernames", PL_SK_BOOL, 0, 1, 0, NULL, NULL,
	  "store user names in lower case" },
	{ "full_sync_minutes", PL_SK_INT, 1, 1440, 6, NULL, NULL,
	  "a full sync (removals too) this often" },
	{ "incremental_seconds", PL_SK_INT, 1, 3600, 60, NULL, NULL,
	  "an incremental sync this often in between" },
	{ "page_size", PL_SK_INT, 1, 999, 500, NULL, NULL,
	  "paged-results page (below AD's 1000)" },
	{ "network_timeout_s", PL_SK_INT, 1, 300, 10, NULL, NULL,
	  "connecting to the server" },
	{ "timeout_s", PL_SK_INT, 1, 600, 60, NULL, NULL,
	  "each LDAP operation (a page, the bind)" },
	{ "max_remove_percent", PL_SK_INT, 0, 100, 50, NULL, NULL,
	  "a sync that would remove more of the synced users is refused" },
	{ "scim", PL_SK_BOOL, 0, 1, 0, NULL, NULL,
	  "serve SCIM 2.0 (IdPs that push: Entra ID, Okta) on listen.scim" },
	{ "scim_tls_cert", PL_SK_PATH, 0, 0, 0, NULL, "scim_tls_key",
	  "SCIM's certificate, full chain PEM (default: self-signed)" },
	{ "scim_tls_key", PL_SK_PATH, 0, 0, 0, NULL, "scim_tls_cert",
	  "its private key (PEM, mode 0600)" },
	{ "scim_badge_attr", PL_SK_STRING, 0, 0, 0,
	  "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber", NULL,
	  "the SCIM attribute holding the badge ID (\"\": none)" },
	{ "scim_badge_format", PL_SK_STRING, 0, 0, 0, "dec", NULL,
	  "how its values are written: dec or hex" },
	{ "scim_max_connections", PL_SK_INT, 4, 10000, 64, NULL, NULL,
	  "SCIM connections at once (a quarter kept for requests in progress)" },
	{ "scim_max_connections_per_address", PL_SK_INT, 0, 10000, 32, NULL, NULL,
	  "SCIM connections from one address (0: no cap)" },
	{ "scim_request_timeout_s", PL_SK_INT, 1, 3600, 20, NULL, NULL,
	  "a whole SCIM request within this of connecting or of the last answer" },
	SK_DIRECTORY,
	PL_SCHEMA_END,
};

const pl_schema_t pl_schema_identitysync = { "PrinterLogicServiceIdentitySync",
					     identitysync_keys, NULL };

static const pl_skey_t snmp_keys[] = {
	{ "profiles", PL_SK_OBJECT, 0, 0, 0, NULL, NULL,
	  "credentials by name: {\"default\": {\"version\": \"2c\", \"community\": \"public\"}}" },
	{ "window", PL_SK_INT, 1, 4096, 256, NULL, NULL,
	  "printers polled at once (a UDP socket each)" },
	{ "alert_polls", PL_SK_INT, 1, 100, 3, NULL, NULL,
	  "consecutive polls that must agree to raise or clear an alert" },
	{ "toner_low_percent", PL_SK_INT, 0, 100, 10, NULL, NULL,
	  "a toner or ink supply at or below this raises low-toner" },
	{ "mail_to", PL_SK_STRING, 0, 0, 0, NULL, "smtp_url",
	  "mail raised and cleared alerts to this address (none: no mail)" },
	{ "mail_from", PL_SK_STRING, 0, 0, 0, "plsc@localhost", NULL,
	  "the sender of those mails" },
	{ "smtp_url", PL_SK_STRING, 0, 0, 0, NULL, "mail_to",
	  "smtp://host:port or smtps://host:port (libcurl)" },
	SK_DIRECTORY,
	PL_SCHEMA_END,
};

static const pl_skey_t offnetwork_keys[] = {
	{ "role", PL_SK_STRING, 0, 0, 0, "router", NULL,
	  "router: dial the External Gateway and print what it pushes; "
	  "gateway: be the External Gateway" },
	{ "gateway_url", PL_SK_STRING, 0, 0, 0, NULL, "token_file",
	  "wss://host[:port][/path] of the gateway (port 443 by default)" },
	{ "token_file", PL_SK_PATH, 0, 0, 0, NULL, "gateway_url",
	  "file whose first line is this site's token (mode 0600)" },
	{ "ca_file", PL_SK_PATH, 0, 0, 0, NULL, NULL,
	  "PEM CA the gateway's certificate must chain to (default: the system's)" },
	{ "client_cert", PL_SK_PATH, 0, 0, 0, NULL, "client_key",
	  "PEM client certificate for the gateway (optional)" },
	{ "client_key", PL_SK_PATH, 0, 0, 0, NULL, "client_cert",
	  "its private key" },
	{ "ping_s", PL_SK_INT, 1, 3600, 20, NULL, NULL,
	  "a WebSocket ping after this much silence" },
	{ "dead_s", PL_SK_INT, 2, 7200, 60, NULL, NULL,
	  "the gateway is dead after this long without a frame: reconnect" },
	{ "backoff_min_ms", PL_SK_INT, 10, 600000, 500, NULL, NULL,
	  "first reconnect delay (doubles each failure, with jitter)" },
	{ "backoff_max_ms", PL_SK_INT, 10, 3600000, 60000, NULL, NULL,
	  "longest reconnect delay" },
	{ "max_job_mb", PL_SK_INT, 1, 1 << 20, 2048, NULL, NULL,
	  "largest job taken from the gateway" },
	{ "gateway_fingerprint", PL_SK_STRING, 0, 0, 0, NULL, NULL,
	  "pinned SHA-256 of the gateway's certificate (hex, colons allowed), instead of "
	  "ca_file and the host name" },
	/* print_*, directory and the held-jobs keys: the include (holder) */
	/* role "gateway" (gw-main.c) */
	{ "tls_cert", PL_SK_PATH, 0, 0, 0, NULL, "tls_key",
	  "gateway: PEM certificate, the full chain (required)" },
	{ "tls_key", PL_SK_PATH, 0, 0, 0, NULL, "tls_cert", "gateway: its private key" },
	{ "site_token_file", PL_SK_PATH, 0, 0, 0, NULL, NULL,
	  "gateway: file whose first line is the token routers must present (0600)" },
	{ "rate_jobs_per_min", PL_SK_INT, 0, 1000000, 60, NULL, NULL,
	  "gateway: jobs a minute from one workstation token (0 = no limit)" },
	{ "rate_mb_per_min", PL_SK_INT, 0, 1 << 20, 4096, NULL, NULL,
	  "gateway: MiB a minute from one workstation token (0 = no limit)" },
	{ "job_expiry_hours", PL_SK_INT, 0, 24 * 3650, 72, NULL, NULL,
	  "gateway: a job no router took is shredded after this, outcome \"expired\" "
	  "(0 = never; checked every expiry_check_s)" },
	{ "job_expiry_seconds", PL_SK_INT, 0, 86400LL * 3650, 0, NULL, NULL,
	  "gateway: finer override of job_expiry_hours (0: off)" },
	{ "outcomes_keep", PL_SK_INT, 1, 10000000, 100000, NULL, NULL,
	  "gateway: outcomes kept for the status query (the newest; compacted at twice this)" },
	{ "outcomes_days", PL_SK_INT, 0, 3650, 30, NULL, NULL,
	  "gateway: outcomes older than this are dropped at compaction (0 = by count only)" },
	PL_SCHEMA_END,
};

const pl_schema_t pl_schema_snmp = { "PrinterLogicServiceSNMP", snmp_keys, NULL };

/* PrinterLogicServiceEmail (docs/PrinterLogicServiceEmail.8): the
 * mailbox, what a message may be, the modes' limits, notices. Secrets are
 * named by file, never written in the config. */
static const pl_skey_t email_keys[] = {
	{ "imap_server", PL_SK_STRING, 0, 0, 0, NULL, NULL,
	  "the mailbox's IMAP server, host[:port] (993; 143 with starttls)" },
	{ "imap_security", PL_SK_STRING, 0, 0, 0, "tls", NULL,
	  "\"tls\" (implicit, 993) or \"starttls\" (143)" },
	{ "imap_user", PL_SK_STRING, 0, 0, 0, NULL, NULL, "the mailbox's login name" },
	{ "imap_auth", PL_SK_STRING, 0, 0, 0, "login", NULL,
	  "\"login\" (password) or \"xoauth2\" (an OAuth 2.0 access token)" },
	{ "imap_password_file", PL_SK_PATH, 0, 0, 0, NULL, NULL,
	  "file holding the password (read at each login)" },
	{ "imap_oauth2_token_file", PL_SK_PATH, 0, 0, 0, NULL, NULL,
	  "file holding the access token (read again at each login)" },
	{ "imap_ca_file", PL_SK_PATH, 0, 0, 0, NULL, NULL,
	  "PEM CA certificates for the server (default: the system's)" },
	{ "imap_fingerprint", PL_SK_STRING, 0, 0, 0, NULL, NULL,
	  "pinned SHA-256 of the server certificate (AB:CD:...), instead of a CA" },
	{ "imap_tls_name", PL_SK_STRING, 0, 0, 0, NULL, NULL,
	  "name the certificate must carry (default: the host of imap_server)" },
	{ "imap_timeout_s", PL_SK_INT, 1, 600, 60, NULL, NULL,
	  "connect and each IMAP read or write" },
	{ "mailbox", PL_SK_STRING, 0, 0, 0, "INBOX", NULL, "the folder watched" },
	{ "printed_folder", PL_SK_STRING, 0, 0, 0, "Printed", NULL,
	  "where handled messages go (\"\": flagged and expunged)" },
	{ "rejected_folder", PL_SK_STRING, 0, 0, 0, "Rejected", NULL,
	  "where refused messages go (\"\": flagged and expunged)" },
	{ "idle_renew_s", PL_SK_INT, 1, 1740, 1740, NULL, NULL,
	  "IDLE is re-issued after this (RFC 2177: under 29 minutes)" },
	{ "poll_interval_s", PL_SK_INT, 1, 3600, 60, NULL, NULL,
	  "checks without IDLE (servers that do not offer it)" },
	{ "reconnect_max_s", PL_SK_INT, 1, 3600, 60, NULL, NULL,
	  "longest wait between reconnection attempts" },
	{ "trusted_authserv_id", PL_SK_STRING, 0, 0, 0, NULL, NULL,
	  "authserv-id of the site's MTA in Authentication-Results" },
	{ "require_authentication", PL_SK_BOOL, 0, 1, 1, NULL, NULL,
	  "accept a sender only with a trusted DMARC/DKIM/SPF pass" },
	{ "direct_domain", PL_SK_STRING, 0, 0, 0, NULL, NULL,
	  "mail to <printer name>@this domain prints there directly" },
	{ "max_message_mb", PL_SK_INT, 1, 1024, 25, NULL, NULL, "largest message" },
	{ "max_attachments", PL_SK_INT, 1, 1000, 20, NULL, NULL, "attachments a message" },
	{ "max_pages", PL_SK_INT, 1, 100000, 200, NULL, NULL, "pages a message" },
	{ "max_depth", PL_SK_INT, 1, 64, 8, NULL, NULL, "MIME nesting" },
	{ "max_decoded_mb", PL_SK_INT, 1, 8192, 100, NULL, NULL,
	  "all decoded parts of a message together" },
	{ "convert_cpu_s", PL_SK_INT, 1, 3600, 30, NULL, NULL, "conversion CPU time" },
	{ "convert_wall_s", PL_SK_INT, 1, 3600, 60, NULL, NULL, "conversion wall time" },
	{ "convert_mem_mb", PL_SK_INT, 64, 65536, 1024, NULL, NULL,
	  "conversion address space" },
	{ "print_body", PL_SK_BOOL, 0, 1, 1, NULL, NULL,
	  "the message text first (false: attachments only)" },
	{ "monospace", PL_SK_BOOL, 0, 1, 0, NULL, NULL, "plain text in a fixed font" },
	{ "external_converter", PL_SK_ARRAY, 0, 0, 0, NULL, NULL,
	  "argv of an external converter (LibreOffice headless) for Office attachments; "
	  "{in}, {outdir}, {out} replaced; absent: off" },
	{ "external_types", PL_SK_ARRAY, 0, 0, 0, NULL, NULL,
	  "media types and file extensions it converts (default: doc docx xls xlsx ppt "
	  "pptx odt ods odp rtf)" },
	{ "external_timeout_s", PL_SK_INT, 1, 3600, 60, NULL, NULL,
	  "wall-clock and CPU limit of one external conversion" },
	{ "external_mem_mb", PL_SK_INT, 64, 65536, 2048, NULL, NULL,
	  "address space of the external converter" },
	{ "guest_max_pages", PL_SK_INT, 1, 100000, 20, NULL, NULL,
	  "pages a guest message may have" },
	{ "guest_max_per_day", PL_SK_INT, 1, 100000, 10, NULL, NULL,
	  "guest messages one sender may print a day" },
	{ "notices", PL_SK_BOOL, 0, 1, 1, NULL, NULL,
	  "tell known senders what became of their mail (needs smtp_server)" },
	{ "smtp_server", PL_SK_STRING, 0, 0, 0, NULL, NULL,
	  "submission server for notices, host[:port] (587)" },
	{ "smtp_security", PL_SK_STRING, 0, 0, 0, "starttls", NULL,
	  "\"starttls\" (587) or \"tls\" (465)" },
	{ "smtp_user", PL_SK_STRING, 0, 0, 0, NULL, NULL, "submission login" },
	{ "smtp_password_file", PL_SK_PATH, 0, 0, 0, NULL, NULL,
	  "file holding the submission password" },
	{ "smtp_ca_file", PL_SK_PATH, 0, 0, 0, NULL, NULL,
	  "PEM CA certificates for the submission server (default: the system's)" },
	{ "smtp_from", PL_SK_STRING, 0, 0, 0, NULL, NULL,
	  "From address of notices (default: imap_user)" },
	PL_SCHEMA_END,
};

const pl_schema_t pl_schema_email = { "PrinterLogicServiceEmail", email_keys,
				      &pl_schema_holder };

/* Held (secure/pull) off-network jobs: the holder's keys too (expiry,
 * quotas, print timeouts, the directory). */
const pl_schema_t pl_schema_offnetwork = { "PrinterLogicServiceOffNetworkServer",
					   offnetwork_keys, &pl_schema_holder };

const pl_schema_t *pl_schemas_for(const char *name)
{
	static const pl_schema_t *const all[] = {
		&pl_schema_offlineprint, &pl_schema_badgerelease,
		&pl_schema_console, &pl_schema_directory, &pl_schema_identitysync,
		&pl_schema_snmp,
		&pl_schema_email,
		&pl_schema_offnetwork,
		&pl_schema_airprint,
	};
	for (size_t i = 0; i < PL_ARRAY_LEN(all); i++)
		if (strcmp(all[i]->service, name) == 0)
			return all[i];
	return NULL;
}
