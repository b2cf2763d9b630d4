#!/usr/bin/env bash
# IdentitySync's SCIM 2.0 server, driven with curl over HTTPS on loopback
# in the request shapes Entra ID and Okta send: users created, replaced,
# patched (attributes, emails through a filter, the enterprise
# employeeNumber as the badge), deactivated with active false (a string
# "False" from Entra), deleted; groups created, members added and removed
# both ways (Entra's remove with a value and without a path must not
# empty the group), renamed. The directory is read through
# `plsc users list --json`. A bad token is 401, malformed bodies 400 with
# the reason in the SCIM error schema, an unknown resource 404. A user
# deactivated over SCIM no longer releases a job with their badge through
# the badge service (plsc-reademu as the reader, plsc-recprinter as the
# printer).
. "$(dirname "$0")/../lib/lib.sh"
t_setup
plan 60

IDS=PrinterLogicServiceIdentitySync
BR=PrinterLogicServiceSimpleBadgeRelease
ENT=urn:ietf:params:scim:schemas:extension:enterprise:2.0:User
rec_start P1
OP_PORT=$(free_port)
BR_PORT=$(free_port)
SCIM_PORT=$(free_port)
URL="https://127.0.0.1:$SCIM_PORT/scim/v2"
t_config '{}' "$(jq -n --arg ds "$BIN/plsc-directory" --arg ids "$BIN/$IDS" \
	--arg op "$BIN/$OP" --arg br "$BIN/$BR" --arg opl "127.0.0.1:$OP_PORT" \
	--arg brl "127.0.0.1:$BR_PORT" --arg sl "127.0.0.1:$SCIM_PORT" '{
	"plsc-directory": {path: $ds},
	"PrinterLogicServiceIdentitySync": {path: $ids, scim: true, listen: {scim: $sl}},
	"PrinterLogicServiceOfflinePrint": {path: $op, listen: {main: $opl}},
	"PrinterLogicServiceSimpleBadgeRelease": {path: $br, listen: {main: $brl},
		dedupe_ms: 100, refresh_s: 1}}')"
"$BIN/plsc-supervisor" -c "$CONF" -n >/dev/null
ok $? "plsc-supervisor -n accepts a SCIM-only IdentitySync section"

mkdir -p "$T/lib/$IDS"
TOKEN=$("$BIN/$IDS" scim-token "$T/lib/$IDS" 2>/dev/null)
like "$TOKEN" "^scim_[0-9a-f]{64}$" "scim-token prints a new token once"
! grep -rq "$TOKEN" "$T/lib/$IDS" && [ "$(stat -c %a "$T/lib/$IDS/scim-token.sha256")" = 600 ]
ok $? "only its hash is stored, 0600"

sup_start
wait_until 15 state_is "$IDS" running && wait_until 15 state_is "$BR" running
ok $? "IdentitySync (SCIM only) and the badge service run"

# scim METHOD PATH [BODY]: sets S (status) and B (body).
scim() {
	local args=(-sk -o "$T/scim.out" -w '%{http_code}' -X "$1" --max-time 30
		-H "Authorization: Bearer ${AUTH-$TOKEN}" -H "Content-Type: application/scim+json")
	[ -n "${3-}" ] && args+=(--data-binary "$3")
	S=$(curl "${args[@]}" "$URL$2")
	B=$(cat "$T/scim.out" 2>/dev/null)
}
users() { plsc users list --json --show-badges; }
user_of() { users | jq -c --arg u "$1" '.users[] | select(.username == $u)'; }

# ---- authentication and discovery
AUTH=wrong scim GET /Users
is "$S" 401 "a wrong bearer token: 401"
is "$(jq -r '.schemas[0]' <<<"$B")" "urn:ietf:params:scim:api:messages:2.0:Error" "in the SCIM error schema"
S=$(curl -sk -o /dev/null -w '%{http_code}' "$URL/Users")
is "$S" 401 "no token: 401"
scim GET /ServiceProviderConfig
is "$S/$(jq -c '[.patch.supported, .filter.supported, .bulk.supported]' <<<"$B")" "200/[true,true,false]" \
	"ServiceProviderConfig: PATCH and filter yes, bulk no"
scim GET /Schemas
is "$(jq -r '[.Resources[].id] | join(" ")' <<<"$B")" \
	"urn:ietf:params:scim:schemas:core:2.0:User $ENT urn:ietf:params:scim:schemas:core:2.0:Group" "Schemas"
scim GET /ResourceTypes
is "$(jq -r '[.Resources[].endpoint] | join(" ")' <<<"$B")" "/Users /Groups" "ResourceTypes"

# ---- Okta: look up, then create (with a password it must not keep)
scim GET "/Users?filter=userName%20eq%20%22olivia%40example.org%22&startIndex=1&count=100"
is "$S/$(jq -r .totalResults <<<"$B")" "200/0" "Okta's look-up by userName before a create: none"
scim POST /Users "$(jq -nc --arg e "$ENT" '{schemas: ["urn:ietf:params:scim:schemas:core:2.0:User", $e],
	userName: "olivia@example.org", name: {givenName: "Olivia", familyName: "Okta"},
	emails: [{primary: true, value: "olivia@example.org", type: "work"}],
	displayName: "Olivia Okta", locale: "en-US", externalId: "00u1okta", active: true,
	password: "hunter2hunter2", ($e): {employeeNumber: "6699"}}')"
is "$S" 201 "Okta: POST /Users creates"
OLIVIA=$(jq -r .id <<<"$B")
is "$(jq -r '[.active, .meta.resourceType, (.password // "none")] | join(" ")' <<<"$B")" "true User none" \
	"the answer: active, meta, no password"
u=$(user_of olivia@example.org)
is "$(jq -r '[.display_name, .emails[0], .badges[0], .source] | join("|")' <<<"$u")" \
	"Olivia Okta|olivia@example.org|1a2b|scim" "the directory has her: name, e-mail, badge 6699 (dec) as 1a2b, source scim"
! grep -q hunter2 "$T/lib/$IDS/scim.db"*
ok $? "the password is not stored"

# ---- Entra ID: create with externalId, find by externalId
scim POST /Users "$(jq -nc --arg e "$ENT" '{schemas: ["urn:ietf:params:scim:schemas:core:2.0:User", $e],
	externalId: "e1f2", userName: "ava@contoso.com", active: true, displayName: "Ava Entra",
	emails: [{primary: true, type: "work", value: "ava@contoso.com"}],
	name: {formatted: "Ava Entra", familyName: "Entra", givenName: "Ava"},
	($e): {employeeNumber: "4242", department: "Print"}}')"
is "$S" 201 "Entra: POST /Users creates"
AVA=$(jq -r .id <<<"$B")
scim GET "/Users?filter=externalId+eq+%22e1f2%22"
is "$(jq -r '.totalResults, .Resources[0].id' <<<"$B" | tr '\n' ' ')" "1 $AVA " "filter externalId eq finds her"
scim GET "/Users?filter=USERNAME%20EQ%20%22AVA@contoso.com%22"
is "$(jq -r .totalResults <<<"$B")" 1 "filter: attribute and operator in any case, userName without regard to case"
scim GET "/Users?filter=displayName%20eq%20%22Ava%22"
is "$S/$(jq -r .scimType <<<"$B")" "400/invalidFilter" "a filter on another attribute: 400 invalidFilter"
scim GET "/Users?filter=userName%20co%20%22a%22"
like "$S $(jq -r .detail <<<"$B")" "^400 .*only eq" "another operator: 400 with the reason"

# ---- Entra PATCH: replace attributes, an e-mail through a filter, the badge
scim PATCH "/Users/$AVA" "$(jq -nc --arg e "$ENT" '{schemas: ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
	Operations: [{op: "Replace", path: "displayName", value: "Ava A. Entra"},
		{op: "Replace", path: "emails[type eq \"work\"].value", value: "ava.a@contoso.com"},
		{op: "Add", path: "emails", value: [{type: "other", value: "ava@print.contoso.com"}]},
		{op: "Replace", path: ($e + ":employeeNumber"), value: "4243"}]}')"
is "$S" 200 "Entra: PATCH Replace/Add with paths"
u=$(user_of ava@contoso.com)
is "$(jq -r '[.display_name, (.emails | join(",")), .badges[0]] | join("|")' <<<"$u")" \
	"Ava A. Entra|ava.a@contoso.com,ava@print.contoso.com|$(printf %x 4243)" "the directory follows"

# ---- Okta PUT: the whole user replaced
scim PUT "/Users/$OLIVIA" "$(jq -nc --arg e "$ENT" '{schemas: ["urn:ietf:params:scim:schemas:core:2.0:User"],
	id: "ignored", userName: "olivia@example.org", name: {givenName: "Olivia", familyName: "Okta-Smith"},
	emails: [{primary: true, value: "olivia.smith@example.org", type: "work"}],
	active: true, ($e): {employeeNumber: "6699"}}')"
is "$S" 200 "Okta: PUT /Users/ID replaces"
is "$(user_of olivia@example.org | jq -r '[.display_name, .emails[0]] | join("|")')" \
	"Olivia Okta-Smith|olivia.smith@example.org" "the name from givenName and familyName, the new e-mail"

# ---- malformed bodies, conflicts, unknown resources
scim POST /Users '{"userName": "x",'
like "$S $(jq -r '.scimType + " " + .detail' <<<"$B")" "^400 invalidSyntax malformed JSON at line 1" "malformed JSON: 400 with line and column"
scim POST /Users '{"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "displayName": "No Name"}'
is "$S $(jq -r .detail <<<"$B")" "400 userName is required" "no userName: 400 with the reason"
scim POST /Users '{"userName": "bad name!"}'
like "$S $(jq -r .detail <<<"$B")" "^400 userName: letters" "a user name the directory refuses: 400"
scim POST /Users "$(jq -nc --arg e "$ENT" '{userName: "badge.bad", ($e): {employeeNumber: "12ab"}}')"
like "$S $(jq -r .detail <<<"$B")" "^400 .*not a decimal badge ID" "a badge not in the declared format: 400"
scim POST /Users '{"userName": "ava@contoso.com"}'
is "$S/$(jq -r .scimType <<<"$B")" "409/uniqueness" "a userName that exists: 409 uniqueness"
plsc users add bob --badge 0xbb01 >/dev/null
scim POST /Users '{"userName": "bob"}'
like "$S $(jq -r .detail <<<"$B")" "^409 .*local user" "the name of a local user: 409, the directory's reason"
scim POST /Users "$(jq -nc --arg e "$ENT" '{userName: "carl", ($e): {employeeNumber: "47873"}}')"
like "$S $(jq -r .detail <<<"$B")" "^409 .*already belongs to bob" "bob's badge (0xbb01 = 47873): 409"
is "$(user_of carl)" "" "and nothing of carl is kept"
scim PATCH "/Users/$AVA" '{"Operations": [{"op": "frobnicate", "path": "displayName", "value": "x"}]}'
is "$S/$(jq -r .scimType <<<"$B")" "400/invalidSyntax" "an unknown op: 400"
scim PATCH "/Users/$AVA" '{"Operations": [{"op": "replace", "path": "emails[type eq ]", "value": "x"}]}'
is "$S/$(jq -r .scimType <<<"$B")" "400/invalidPath" "a malformed path: 400 invalidPath"
scim GET /Users/00000000-0000-4000-8000-000000000000
is "$S" 404 "an unknown user: 404"
scim GET /Printers
is "$S" 404 "an unknown resource type: 404"
out=$(plsc users del olivia@example.org 2>&1)
like "$out" "synced from scim" "a SCIM user is read-only to plsc users"

# ---- pagination
for n in 1 2 3; do scim POST /Users "{\"userName\": \"page$n\"}"; done
scim GET "/Users?startIndex=2&count=2"
is "$(jq -c '[.totalResults, .startIndex, .itemsPerPage, (.Resources | length)]' <<<"$B")" "[5,2,2,2]" \
	"startIndex and count: one page, totalResults of all"

# ---- groups: Entra creates, then adds and removes members
scim POST /Groups '{"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "externalId": "g-1", "displayName": "Print Users", "members": []}'
is "$S" 201 "Entra: POST /Groups"
G=$(jq -r .id <<<"$B")
scim PATCH "/Groups/$G" "$(jq -nc --arg a "$AVA" --arg o "$OLIVIA" '{schemas: ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
	Operations: [{op: "Add", path: "members", value: [{value: $a}, {value: $o}]}]}')"
is "$S" 200 "Entra: PATCH Add members"
is "$(users | jq -r '[.users[] | select(.groups == "Print Users") | .username] | sort | join(" ")')" \
	"ava@contoso.com olivia@example.org" "both members have the group in the directory"
scim PATCH "/Groups/$G" "$(jq -nc --arg o "$OLIVIA" '{Operations: [{op: "Remove", path: "members", value: [{value: $o}]}]}')"
is "$S/$(user_of olivia@example.org | jq -r .groups)/$(user_of ava@contoso.com | jq -r .groups)" "200//Print Users" \
	"Entra: Remove members with a value removes only those listed"
scim PATCH "/Groups/$G" '{"Operations": [{"op": "Remove"}]}'
is "$S/$(jq -r .scimType <<<"$B")/$(user_of ava@contoso.com | jq -r .groups)" "400/noTarget/Print Users" \
	"a remove without a path or value: 400 noTarget, the group is not emptied"
scim PATCH "/Groups/$G" "$(jq -nc --arg o "$OLIVIA" '{Operations: [{op: "add", value: {members: [{value: $o}]}}]}')"
scim PATCH "/Groups/$G" "$(jq -nc --arg o "$OLIVIA" '{Operations: [{op: "remove", value: [{value: $o}]}]}')"
is "$S/$(user_of olivia@example.org | jq -r .groups)/$(user_of ava@contoso.com | jq -r .groups)" "200//Print Users" \
	"a remove without a path but with members removes those only"
scim PATCH "/Groups/$G" "$(jq -nc --arg g "$G" '{Operations: [{op: "replace", value: {id: $g, displayName: "Printing"}}]}')"
is "$S/$(user_of ava@contoso.com | jq -r .groups)" "200/Printing" "Okta: rename by replace without a path; members follow"
scim PATCH "/Groups/$G" "$(jq -nc --arg a "$AVA" '{Operations: [{op: "remove", path: ("members[value eq \"" + $a + "\"]")}]}')"
is "$S/$(user_of ava@contoso.com | jq -r .groups)" "200/" "Okta: remove members[value eq \"ID\"]"
scim GET "/Groups?filter=displayName%20eq%20%22Printing%22&excludedAttributes=members"
is "$(jq -c '[.totalResults, (.Resources[0] | has("members"))]' <<<"$B")" "[1,false]" "groups by displayName, members excluded"

# ---- the badge releases, until the user is deactivated
plsc printers add P1 "socket://127.0.0.1:$REC_PORT_P1" >/dev/null
plsc readers add R1 --address 127.0.0.2 --printer P1 --preset elatec-tcpconv2 >/dev/null
token_for ws1
echo "ava job 1" > "$T/j1"
submit ws1 ava@contoso.com "$T/j1" >/dev/null
ok $? "a job held for ava@contoso.com"
# the badge service re-reads its readers every refresh_s: swipe once it has
# them all
wait_until 10 grep -q "1 badge reader configured" "$T/log/$BR.log"
"$BIN/plsc-reademu" connect 127.0.0.1 "$BR_PORT" 127.0.0.2 elatec-tcpconv2 "badge:$(printf %x 4243)"
wait_until 10 test -e "$T/rec-P1/job-1.bin"
is "$(cat "$T/rec-P1/job-1.bin" 2>/dev/null)" "ava job 1" "her badge releases her job while she is active"

scim PATCH "/Users/$AVA" '{"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": [{"op": "Replace", "path": "active", "value": "False"}]}'
is "$S/$(jq -r .active <<<"$B")" "200/false" "Entra: active \"False\" (a string) deactivates"
u=$(user_of ava@contoso.com)
is "$(jq -c '[.source, .badges]' <<<"$u")" '["scim",[]]' "she stays in the directory, without badges"
echo "ava job 2" > "$T/j2"
submit ws1 ava@contoso.com "$T/j2" >/dev/null
"$BIN/plsc-reademu" connect 127.0.0.1 "$BR_PORT" 127.0.0.2 elatec-tcpconv2 "badge:$(printf %x 4243)"
wait_until 10 grep -q "unknown badge .*nothing released" "$T/log/$BR.log"
ok $? "after deactivation her badge is unknown to the badge service"
[ ! -e "$T/rec-P1/job-2.bin" ] && [ "$(plsc jobs --json | jq '[.jobs[] | select(.user == "ava@contoso.com")] | length')" = 1 ]
ok $? "and releases nothing: her job stays held"
scim PATCH "/Users/$OLIVIA" '{"Operations": [{"op": "replace", "value": {"active": false}}]}'
is "$S/$(user_of olivia@example.org | jq -c .badges)" "200/[]" "Okta: replace without a path {active: false} deactivates"
scim PATCH "/Users/$OLIVIA" '{"Operations": [{"op": "replace", "value": {"active": true}}]}'
is "$(user_of olivia@example.org | jq -r '.badges[0]')" "1a2b" "reactivated: the badge is back"

# ---- delete
scim DELETE "/Users/$AVA"
is "$S" 204 "DELETE /Users/ID: 204"
is "$(user_of ava@contoso.com)" "" "gone from the directory"
scim GET "/Users/$AVA"
is "$S" 404 "and from SCIM"

# ---- a restart keeps everything, and the directory still matches
plsc restart "$IDS" >/dev/null
wait_until 15 state_is "$IDS" running
wait_until 10 bash -c "curl -sk -o /dev/null -w '%{http_code}' -H 'Authorization: Bearer $TOKEN' '$URL/Users/$OLIVIA' | grep -q 200"
ok $? "after a restart the users are still served"
is "$(users | jq '[.users[] | select(.source == "scim")] | length')" 4 "and the directory holds the four SCIM users"
t_done
