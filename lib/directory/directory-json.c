/* Directory records as JSON: one shape for `plsc ... list --json` and the
 * web console's /api/v1 (README documents both), so the two cannot drift. */
#include "pl_directory.h"

json_t *pl_dir_user_json(const pl_dir_user_t *u)
{
	json_t *em = json_array(), *bd = json_array();
	for (int k = 0; k < u->nemails; k++)
		json_array_append_new(em, json_string(u->emails[k]));
	for (int k = 0; k < u->nbadges; k++)
		json_array_append_new(bd, json_string(u->badges[k]));
	return json_pack("{s:s,s:s,s:o,s:o,s:s,s:b,s:s}", "username", u->username,
			 "display_name", u->display_name, "emails", em, "badges", bd,
			 "groups", u->groups, "has_pin", u->has_pin, "source", u->source);
}

json_t *pl_dir_printer_json(const pl_dir_printer_t *p)
{
	return json_pack("{s:s,s:s,s:s,s:s,s:s,s:b}", "name", p->name, "uri", p->uri,
			 "location", p->location, "formats", p->formats, "email", p->email,
			 "guest", p->guest ? 1 : 0);
}

json_t *pl_dir_reader_json(const pl_dir_reader_t *r)
{
	return json_pack("{s:s,s:s,s:s,s:i,s:s,s:s,s:s}", "name", r->name, "direction",
			 r->direction, "address", r->address, "port", r->port, "printer",
			 r->printer, "mode", r->mode, "format", r->format);
}
