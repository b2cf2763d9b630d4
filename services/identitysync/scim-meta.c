/* The SCIM discovery documents (RFC 7643 5-7, RFC 7644 4): what we
 * support, said so that an IdP's own checks (Entra ID's validator, Okta's
 * "test connector") see the truth: PATCH yes, filter with eq only (at most
 * SCIM_PAGE_MAX results a page), no bulk, no sort, no ETag preconditions,
 * no password changes; the bearer token. The schemas name the attributes
 * the directory uses; anything else an IdP sends is kept and returned
 * but not used. */
#include "scim.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#define ATTR(name, type, multi, req, mut, uniq)                                          \
	"{\"name\":\"" name "\",\"type\":\"" type "\",\"multiValued\":" multi              \
	",\"required\":" req ",\"caseExact\":false,\"mutability\":\"" mut                 \
	"\",\"returned\":\"default\",\"uniqueness\":\"" uniq "\"}"

static const char USER_SCHEMA[] =
	"{\"id\":\"" SCIM_URI_USER "\",\"name\":\"User\",\"description\":\"User Account\","
	"\"attributes\":["
	ATTR("userName", "string", "false", "true", "readWrite", "server") ","
	"{\"name\":\"name\",\"type\":\"complex\",\"multiValued\":false,\"required\":false,"
	"\"mutability\":\"readWrite\",\"returned\":\"default\",\"subAttributes\":["
	ATTR("formatted", "string", "false", "false", "readWrite", "none") ","
	ATTR("givenName", "string", "false", "false", "readWrite", "none") ","
	ATTR("familyName", "string", "false", "false", "readWrite", "none") "]},"
	ATTR("displayName", "string", "false", "false", "readWrite", "none") ","
	ATTR("externalId", "string", "false", "false", "readWrite", "none") ","
	ATTR("active", "boolean", "false", "false", "readWrite", "none") ","
	"{\"name\":\"emails\",\"type\":\"complex\",\"multiValued\":true,\"required\":false,"
	"\"mutability\":\"readWrite\",\"returned\":\"default\",\"subAttributes\":["
	ATTR("value", "string", "false", "false", "readWrite", "none") ","
	ATTR("type", "string", "false", "false", "readWrite", "none") ","
	ATTR("primary", "boolean", "false", "false", "readWrite", "none") "]},"
	"{\"name\":\"groups\",\"type\":\"complex\",\"multiValued\":true,\"required\":false,"
	"\"mutability\":\"readOnly\",\"returned\":\"default\",\"subAttributes\":["
	ATTR("value", "string", "false", "false", "readOnly", "none") ","
	ATTR("display", "string", "false", "false", "readOnly", "none") "]}"
	"],\"meta\":{\"resourceType\":\"Schema\"}}";

static const char ENTERPRISE_SCHEMA[] =
	"{\"id\":\"" SCIM_URI_ENTERPRISE "\",\"name\":\"EnterpriseUser\","
	"\"description\":\"Enterprise User\",\"attributes\":["
	ATTR("employeeNumber", "string", "false", "false", "readWrite", "none")
	"],\"meta\":{\"resourceType\":\"Schema\"}}";

static const char GROUP_SCHEMA[] =
	"{\"id\":\"" SCIM_URI_GROUP "\",\"name\":\"Group\",\"description\":\"Group\","
	"\"attributes\":["
	ATTR("displayName", "string", "false", "true", "readWrite", "server") ","
	ATTR("externalId", "string", "false", "false", "readWrite", "none") ","
	"{\"name\":\"members\",\"type\":\"complex\",\"multiValued\":true,\"required\":false,"
	"\"mutability\":\"readWrite\",\"returned\":\"default\",\"subAttributes\":["
	ATTR("value", "string", "false", "false", "immutable", "none") ","
	ATTR("display", "string", "false", "false", "readOnly", "none") "]}"
	"],\"meta\":{\"resourceType\":\"Schema\"}}";

static json_t *with_location(json_t *j, const char *base, const char *what, const char *id)
{
	char loc[512];
	json_t *meta = json_object_get(j, "meta");
	snprintf(loc, sizeof(loc), "%s/%s%s%s", base, what, id ? "/" : "", id ? id : "");
	if (json_is_object(meta))
		json_object_set_new(meta, "location", json_string(loc));
	return j;
}

static json_t *schema(const char *uri, const char *base)
{
	const char *text = strcasecmp(uri, SCIM_URI_USER) == 0	     ? USER_SCHEMA
			   : strcasecmp(uri, SCIM_URI_ENTERPRISE) == 0 ? ENTERPRISE_SCHEMA
			   : strcasecmp(uri, SCIM_URI_GROUP) == 0      ? GROUP_SCHEMA
								       : NULL;
	json_t *j = text ? json_loads(text, 0, NULL) : NULL;
	if (j)
		json_object_set_new(j, "schemas",
				    json_pack("[s]", "urn:ietf:params:scim:schemas:core:2.0:Schema"));
	return j ? with_location(j, base, "Schemas", uri) : NULL;
}

static json_t *resource_type(const char *name, const char *base)
{
	json_t *j;
	if (strcasecmp(name, "User") == 0)
		j = json_pack("{s:[s],s:s,s:s,s:s,s:s,s:[{s:s,s:b}],s:{s:s}}", "schemas",
			      "urn:ietf:params:scim:schemas:core:2.0:ResourceType", "id", "User",
			      "name", "User", "endpoint", "/Users", "schema", SCIM_URI_USER,
			      "schemaExtensions", "schema", SCIM_URI_ENTERPRISE, "required", 0,
			      "meta", "resourceType", "ResourceType");
	else if (strcasecmp(name, "Group") == 0)
		j = json_pack("{s:[s],s:s,s:s,s:s,s:s,s:[],s:{s:s}}", "schemas",
			      "urn:ietf:params:scim:schemas:core:2.0:ResourceType", "id", "Group",
			      "name", "Group", "endpoint", "/Groups", "schema", SCIM_URI_GROUP,
			      "schemaExtensions", "meta", "resourceType", "ResourceType");
	else
		return NULL;
	return with_location(j, base, "ResourceTypes", name);
}

static json_t *list_of(json_t *items)
{
	return json_pack("{s:[s],s:I,s:I,s:I,s:o}", "schemas", SCIM_URI_LIST, "totalResults",
			 (json_int_t)json_array_size(items), "startIndex", (json_int_t)1,
			 "itemsPerPage", (json_int_t)json_array_size(items), "Resources", items);
}

static json_t *provider_config(const char *base)
{
	json_t *j = json_pack(
		"{s:[s],s:{s:b},s:{s:b,s:i,s:i},s:{s:b,s:i},s:{s:b},s:{s:b},s:{s:b},"
		"s:[{s:s,s:s,s:s,s:b}],s:{s:s}}",
		"schemas", "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig", "patch",
		"supported", 1, "bulk", "supported", 0, "maxOperations", 0, "maxPayloadSize", 0,
		"filter", "supported", 1, "maxResults", SCIM_PAGE_MAX, "changePassword", "supported",
		0, "sort", "supported", 0, "etag", "supported", 0, "authenticationSchemes", "type",
		"oauthbearertoken", "name", "OAuth Bearer Token", "description",
		"A bearer token made by PrinterLogicServiceIdentitySync scim-token", "primary", 1,
		"meta", "resourceType", "ServiceProviderConfig");
	return with_location(j, base, "ServiceProviderConfig", NULL);
}

json_t *scim_meta_doc(const char *path, const char *base)
{
	if (strcasecmp(path, "/ServiceProviderConfig") == 0)
		return provider_config(base);
	if (strcasecmp(path, "/Schemas") == 0) {
		json_t *a = json_array();
		json_array_append_new(a, schema(SCIM_URI_USER, base));
		json_array_append_new(a, schema(SCIM_URI_ENTERPRISE, base));
		json_array_append_new(a, schema(SCIM_URI_GROUP, base));
		return list_of(a);
	}
	if (strncasecmp(path, "/Schemas/", 9) == 0)
		return schema(path + 9, base);
	if (strcasecmp(path, "/ResourceTypes") == 0) {
		json_t *a = json_array();
		json_array_append_new(a, resource_type("User", base));
		json_array_append_new(a, resource_type("Group", base));
		return list_of(a);
	}
	if (strncasecmp(path, "/ResourceTypes/", 15) == 0)
		return resource_type(path + 15, base);
	return NULL;
}
