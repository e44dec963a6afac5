/* ------------------------------------------------------------------------
 * C helpers
 * ------------------------------------------------------------------------ */

CREATE FUNCTION camera_health.mask_url(url text)
RETURNS text
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE
AS 'MODULE_PATHNAME', 'ch_mask_url';
COMMENT ON FUNCTION camera_health.mask_url(text) IS
'One whole URL with its credentials replaced by ***: the password of user:password@ (the userinfo runs to the last @) and secret query parameters (password=, pwd=, token=, ...).';

CREATE FUNCTION camera_health.mask_text(t text)
RETURNS text
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE
AS 'MODULE_PATHNAME', 'ch_mask_text';
COMMENT ON FUNCTION camera_health.mask_text(text) IS
'Free text with the credentials of every URL in it replaced by ***, also when the text was cut short inside a password.';

CREATE FUNCTION camera_health.url_origin(url text)
RETURNS text
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE
AS 'MODULE_PATHNAME', 'ch_url_origin';
COMMENT ON FUNCTION camera_health.url_origin(text) IS
'scheme://host of a URL, without userinfo, port, path or query (NULL without a plausible scheme): all an error about a refused URL shows of it.';

CREATE FUNCTION camera_health.valid_camera_url(url text)
RETURNS boolean
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE
AS 'MODULE_PATHNAME', 'ch_valid_camera_url';
COMMENT ON FUNCTION camera_health.valid_camera_url(text) IS
'True for a URL a camera can be read from: rtsp, rtsps, http or https, with a host and at most 2048 bytes.';

CREATE FUNCTION camera_health.url_problem(url text)
RETURNS text
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE
AS 'MODULE_PATHNAME', 'ch_url_problem';
COMMENT ON FUNCTION camera_health.url_problem(text) IS
'Why a camera URL is refused, or NULL when it is valid.';

CREATE FUNCTION camera_health.default_log_retention()
RETURNS interval
LANGUAGE C STABLE PARALLEL SAFE
AS 'MODULE_PATHNAME', 'ch_default_log_retention';
COMMENT ON FUNCTION camera_health.default_log_retention() IS
'The retention of health logs for cameras without a policy of their own (GUC camera_health.default_log_retention).';

CREATE FUNCTION camera_health.is_camera_address(address inet)
RETURNS boolean
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
RETURN masklen(address) = CASE family(address) WHEN 4 THEN 32 ELSE 128 END
	AND host(address) NOT IN ('0.0.0.0', '255.255.255.255', '::')
	AND NOT address <<= inet '224.0.0.0/4'
	AND NOT address <<= inet 'ff00::/8';
COMMENT ON FUNCTION camera_health.is_camera_address(inet) IS
'True for a single unicast host address: no netmask, not unspecified, broadcast or multicast.';

CREATE FUNCTION camera_health.valid_tags(tags text[])
RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
RETURN tags IS NOT NULL AND cardinality(tags) <= 32
	AND NOT EXISTS (SELECT FROM unnest(tags) AS t WHERE t IS NULL OR length(t) NOT BETWEEN 1 AND 64)
	AND cardinality(tags) = (SELECT count(DISTINCT t) FROM unnest(tags) AS t);
COMMENT ON FUNCTION camera_health.valid_tags(text[]) IS
'True for a camera''s tags: at most 32, each 1 to 64 characters, none twice.';
