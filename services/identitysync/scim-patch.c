/* PATCH (RFC 7644 3.5.2) applied to a stored resource. The operations
 * come from an identity provider over the network, so the body is checked
 * as it is walked, and an operation that cannot be applied fails the
 * whole PATCH (the caller keeps the resource as it was).
 *
 * What the two IdPs we serve send, and how it is taken:
 *  - op in any case ("Add", "replace", "REMOVE").
 *  - a path ("displayName", "name.givenName", "emails[type eq \"work\"].value",
 *    "members[value eq \"ID\"]", "urn:...:enterprise:2.0:User:employeeNumber"),
 *    or none with an object value whose keys are paths or schema URIs.
 *  - Entra ID's remove of members with a value: only the members listed
 *    go, with a path "members" or without a path (RFC 7644 would empty
 *    the group for the former and refuse the latter; Entra means "these").
 *    A remove without a path and without a value is refused (noTarget):
 *    it never empties anything.
 *  - single-valued attributes sent as a one-element array or as
 *    {"value": x}; booleans as "True"/"False" (scim-res.c makes them
 *    booleans).
 *  - a replace through a filter that matches nothing adds the value
 *    (Entra's emails[type eq "work"].value on a user without one).
 * Fuzzed: tests/fuzz/fuzz_scim.c; unit tests: tests/unit/test_scim.c. */
#include "scim.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "pl_util.h"

enum { OP_ADD, OP_REPLACE, OP_REMOVE };

int scim_fail(scim_err_t *e, int status, const char *type, const char *fmt, ...)
{
	va_list ap;
	e->status = status;
	pl_strlcpy(e->type, type ? type : "", sizeof(e->type));
	va_start(ap, fmt);
	vsnprintf(e->detail, sizeof(e->detail), fmt, ap);
	va_end(ap);
	return -1;
}

static int in_list(const char *name, const char *const *list, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (strcasecmp(name, list[i]) == 0)
			return 1;
	return 0;
}

static int is_multi(const char *attr)
{
	static const char *const multi[] = { "emails",	 "phoneNumbers", "ims",
					     "photos",	 "addresses",	 "groups",
					     "entitlements", "roles",	 "x509Certificates",
					     "members" };
	return in_list(attr, multi, PL_ARRAY_LEN(multi));
}

static int is_complex(const char *attr)
{
	static const char *const complex[] = { "name", "manager" };
	return in_list(attr, complex, PL_ARRAY_LEN(complex));
}

/* Made by the server, never by a PATCH: ignored, as Entra ID sends some
 * back to us. */
static int is_server_owned(const char *attr, int is_group)
{
	return strcasecmp(attr, "id") == 0 || strcasecmp(attr, "meta") == 0 ||
	       strcasecmp(attr, "schemas") == 0 || (!is_group && strcasecmp(attr, "groups") == 0);
}

/* A schema URI used as a key of a path-less value: "urn:...:User". */
static int is_schema_key(const char *key, const json_t *v)
{
	size_t n = strlen(key);
	return json_is_object(v) && strncasecmp(key, "urn:", 4) == 0 &&
	       ((n > 5 && strcasecmp(key + n - 5, ":User") == 0) ||
		(n > 6 && strcasecmp(key + n - 6, ":Group") == 0));
}

/* Set obj[key] (an existing member of any case keeps its spelling). */
static void put(json_t *obj, const char *key, json_t *v)
{
	const char *real;
	(void)scim_get(obj, key, &real);
	json_object_set_new(obj, real ? real : key, v);
}

static void drop(json_t *obj, const char *key)
{
	const char *real;
	if (scim_get(obj, key, &real))
		json_object_del(obj, real);
}

/* Entra ID's ways with single values (see above). */
static json_t *single(json_t *v, const char *attr)
{
	if (json_is_array(v) && json_array_size(v) == 1)
		v = json_array_get(v, 0);
	json_t *inner = json_is_object(v) && json_object_size(v) == 1 && !is_complex(attr)
				? scim_get(v, "value", NULL)
				: NULL;
	return inner ? inner : v;
}

static json_t *container(json_t *doc, const scim_path_t *p, int create)
{
	const char *real;
	if (!p->uri[0])
		return doc;
	json_t *c = scim_get(doc, p->uri, &real);
	if (json_is_object(c) || !create)
		return json_is_object(c) ? c : NULL;
	c = json_object();
	put(doc, p->uri, c);
	return c;
}

/* The "value" of an element, or the element itself when it is a string. */
static const char *element_id(const json_t *el)
{
	const json_t *v = json_is_object(el) ? scim_get(el, "value", NULL) : el;
	return json_string_value(v);
}

static int has_element(const json_t *arr, const json_t *el)
{
	const char *id = element_id(el);
	size_t i;
	json_t *x;
	json_array_foreach(arr, i, x) {
		const char *xid = element_id(x);
		if ((id && xid && strcmp(id, xid) == 0) || json_equal(x, el))
			return 1;
	}
	return 0;
}

/* add or replace of a multi-valued attribute without a filter. */
static int set_multi(json_t *c, const char *attr, json_t *value, int op, scim_err_t *e)
{
	const char *real;
	json_t *in = json_is_array(value) ? value : NULL, *arr = json_array();
	if (!in) {
		in = json_array();
		json_array_append(in, value);
	} else {
		json_incref(in);
	}
	json_t *old = scim_get(c, attr, &real);
	if (op == OP_ADD && json_is_array(old))
		json_array_extend(arr, old);
	size_t i;
	json_t *el;
	int rc = 0;
	json_array_foreach(in, i, el) {
		if (json_is_string(el)) /* a bare id or address: {"value": ...} */
			el = json_pack("{s:O}", "value", el);
		else
			json_incref(el);
		if (!json_is_object(el))
			rc = scim_fail(e, 400, "invalidValue", "%s: each value is an object", attr);
		else if (!has_element(arr, el))
			json_array_append(arr, el);
		json_decref(el);
	}
	json_decref(in);
	if (rc == 0 && json_array_size(arr) == 0)
		drop(c, attr);
	else if (rc == 0)
		put(c, attr, json_incref(arr));
	json_decref(arr);
	return rc;
}

/* Merge an object's members into obj[attr] (made an object). */
static void merge(json_t *c, const char *attr, json_t *value)
{
	json_t *old = scim_get(c, attr, NULL);
	if (!json_is_object(old)) {
		old = json_object();
		put(c, attr, old);
	}
	const char *k;
	json_t *v;
	json_object_foreach(value, k, v)
		put(old, k, json_deep_copy(v));
}

static int set_attr(json_t *c, const scim_path_t *p, json_t *value, int op, scim_err_t *e)
{
	json_t *cur = scim_get(c, p->attr, NULL);
	if (p->sub[0]) {
		if (json_is_array(cur) || is_multi(p->attr))
			return scim_fail(e, 400, "invalidPath",
					 "%s is multi-valued: choose values with %s[...]", p->attr,
					 p->attr);
		if (!json_is_object(cur)) {
			cur = json_object();
			put(c, p->attr, cur);
		}
		put(cur, p->sub, json_deep_copy(single(value, p->sub)));
		return 0;
	}
	if (is_multi(p->attr))
		return set_multi(c, p->attr, value, op, e);
	value = single(value, p->attr);
	if (json_is_object(value) && (is_complex(p->attr) || json_is_object(cur))) {
		merge(c, p->attr, value);
		return 0;
	}
	if (json_is_null(value))
		drop(c, p->attr);
	else
		put(c, p->attr, json_deep_copy(value));
	return 0;
}

/* Ids (or {"value": id} objects) listed in value. */
static int listed(const json_t *value, const json_t *el)
{
	const char *id = element_id(el);
	if (!id)
		return 0;
	if (!json_is_array(value)) {
		const char *v = element_id(value);
		return v && strcmp(v, id) == 0;
	}
	size_t i;
	json_t *x;
	json_array_foreach(value, i, x) {
		const char *v = element_id(x);
		if (v && strcmp(v, id) == 0)
			return 1;
	}
	return 0;
}

static void remove_listed(json_t *c, const char *attr, const json_t *value)
{
	json_t *arr = scim_get(c, attr, NULL);
	for (size_t i = json_array_size(arr); i-- > 0;)
		if (listed(value, json_array_get(arr, i)))
			json_array_remove(arr, i);
	if (json_is_array(arr) && json_array_size(arr) == 0)
		drop(c, attr);
}

static int match(const json_t *el, const scim_filter_t *f)
{
	/* ids and addresses in "value" compare exactly; type and the rest
	 * without regard to case */
	return json_is_object(el) &&
	       scim_value_eq(scim_get(el, f->attr, NULL), f, strcasecmp(f->attr, "value") == 0);
}

/* A path with [filter]: each matching value of a multi-valued attribute. */
static int filtered(json_t *c, const scim_path_t *p, json_t *value, int op, scim_err_t *e)
{
	json_t *arr = scim_get(c, p->attr, NULL);
	int matched = 0;
	if (arr && !json_is_array(arr))
		return scim_fail(e, 400, "invalidPath", "%s is not multi-valued", p->attr);
	for (size_t i = json_array_size(arr); i-- > 0;) {
		json_t *el = json_array_get(arr, i);
		if (!match(el, &p->filter))
			continue;
		matched++;
		if (op == OP_REMOVE && !p->sub[0])
			json_array_remove(arr, i);
		else if (op == OP_REMOVE)
			drop(el, p->sub);
		else if (p->sub[0])
			put(el, p->sub, json_deep_copy(single(value, p->sub)));
		else if (json_is_object(single(value, p->attr)))
			json_array_set_new(arr, i, json_deep_copy(single(value, p->attr)));
		else
			return scim_fail(e, 400, "invalidValue", "%s: a value is an object", p->attr);
	}
	if (op == OP_REMOVE || matched) {
		if (json_is_array(arr) && json_array_size(arr) == 0)
			drop(c, p->attr);
		return 0;
	}
	/* Nothing matched: an add or a replace adds the value, with the
	 * filter's attribute (a string compared for equality) set. */
	json_t *el = p->sub[0] ? json_object() : json_deep_copy(single(value, p->attr));
	if (!json_is_object(el)) {
		json_decref(el);
		return scim_fail(e, 400, "invalidValue", "%s: a value is an object", p->attr);
	}
	if (p->sub[0])
		put(el, p->sub, json_deep_copy(single(value, p->sub)));
	if (p->filter.is_str && !scim_get(el, p->filter.attr, NULL))
		put(el, p->filter.attr, json_string(p->filter.value));
	if (!arr) {
		arr = json_array();
		put(c, p->attr, arr);
	}
	json_array_append_new(arr, el);
	return 0;
}

static int apply_path(json_t *doc, const char *text, json_t *value, int op, int is_group,
		      scim_err_t *e)
{
	scim_path_t p;
	char why[200];
	if (scim_path_parse(text, &p, why, sizeof(why)) < 0)
		return scim_fail(e, 400, "invalidPath", "path \"%.100s\": %s", text, why);
	if (!p.uri[0] && is_server_owned(p.attr, is_group))
		return 0;
	if (op != OP_REMOVE && !value)
		return scim_fail(e, 400, "invalidSyntax", "%s of %s without a value",
				 op == OP_ADD ? "add" : "replace", p.attr);
	json_t *c = container(doc, &p, op != OP_REMOVE);
	if (!c)
		return 0; /* removing from an extension that is not there */
	if (p.has_filter)
		return filtered(c, &p, value, op, e);
	if (op != OP_REMOVE)
		return set_attr(c, &p, value, op, e);
	json_t *cur = scim_get(c, p.attr, NULL);
	if (p.sub[0]) {
		if (json_is_array(cur))
			return scim_fail(e, 400, "invalidPath",
					 "%s is multi-valued: choose values with %s[...]", p.attr,
					 p.attr);
		if (json_is_object(cur))
			drop(cur, p.sub);
		return 0;
	}
	if (value && is_multi(p.attr))
		remove_listed(c, p.attr, value); /* Entra ID: these, not all */
	else
		drop(c, p.attr);
	return 0;
}

/* No path: the value's keys are the paths (or schema URIs). */
static int apply_pathless(json_t *doc, json_t *value, int op, int is_group, scim_err_t *e)
{
	if (op == OP_REMOVE) {
		/* Entra ID sends the members to remove; anything else would be
		 * a guess, and a wrong guess empties a group. */
		json_t *m = json_is_object(value) ? scim_get(value, "members", NULL) : value;
		if (!is_group || !m || (!json_is_array(m) && !json_is_object(m)))
			return scim_fail(e, 400, "noTarget",
					 "a remove without a path must list the members to remove");
		remove_listed(doc, "members", m);
		return 0;
	}
	if (!json_is_object(value))
		return scim_fail(e, 400, "invalidSyntax",
				 "without a path the value is an object of attributes");
	const char *k;
	json_t *v;
	json_object_foreach(value, k, v) {
		int rc = 0;
		if (is_schema_key(k, v)) {
			int core = strcasecmp(k, SCIM_URI_USER) == 0 ||
				   strcasecmp(k, SCIM_URI_GROUP) == 0;
			json_t *c = core ? doc : scim_get(doc, k, NULL);
			if (!json_is_object(c)) {
				c = json_object();
				put(doc, k, c);
			}
			const char *k2;
			json_t *v2;
			json_object_foreach(v, k2, v2) {
				scim_path_t p;
				char why[200];
				if (scim_path_parse(k2, &p, why, sizeof(why)) < 0 || p.uri[0])
					return scim_fail(e, 400, "invalidPath", "\"%.100s\": %s", k2,
							 why);
				if ((rc = p.has_filter ? filtered(c, &p, v2, op, e)
						       : set_attr(c, &p, v2, op, e)) < 0)
					return -1;
			}
			continue;
		}
		if ((rc = apply_path(doc, k, v, op, is_group, e)) < 0)
			return -1;
	}
	return 0;
}

static int op_of(const json_t *o, int *op, scim_err_t *e)
{
	const char *s = json_string_value(scim_get(o, "op", NULL));
	if (s && strcasecmp(s, "add") == 0)
		*op = OP_ADD;
	else if (s && strcasecmp(s, "replace") == 0)
		*op = OP_REPLACE;
	else if (s && strcasecmp(s, "remove") == 0)
		*op = OP_REMOVE;
	else
		return scim_fail(e, 400, "invalidSyntax", "\"op\" is add, replace or remove");
	return 0;
}

int scim_patch_apply(json_t *doc, const json_t *body, int is_group, scim_err_t *e)
{
	json_t *ops = scim_get(body, "Operations", NULL);
	if (!json_is_array(ops) || json_array_size(ops) == 0)
		return scim_fail(e, 400, "invalidSyntax", "a PatchOp needs \"Operations\", an array");
	if (json_array_size(ops) > SCIM_OPS_MAX)
		return scim_fail(e, 400, "tooMany", "at most %d operations", SCIM_OPS_MAX);
	size_t i;
	json_t *o;
	json_array_foreach(ops, i, o) {
		int op = OP_ADD;
		if (!json_is_object(o))
			return scim_fail(e, 400, "invalidSyntax", "operation %zu is not an object", i);
		if (op_of(o, &op, e) < 0)
			return -1;
		json_t *path = scim_get(o, "path", NULL), *value = scim_get(o, "value", NULL);
		if (path && !json_is_string(path) && !json_is_null(path))
			return scim_fail(e, 400, "invalidPath", "\"path\" is a string");
		int rc = json_string_value(path) && json_string_value(path)[0]
				 ? apply_path(doc, json_string_value(path), value, op, is_group, e)
				 : apply_pathless(doc, value, op, is_group, e);
		if (rc < 0)
			return -1;
	}
	return 0;
}
