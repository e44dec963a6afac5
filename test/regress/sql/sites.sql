-- Sites and tags on cameras; bulk import (all or nothing) and export.
\set SHOW_CONTEXT never
SET search_path = camera_health, public;

SELECT site, tags FROM register_camera('10.8.0.1', name => 'north 1', site => 'north', tags => '{ptz,outdoor}');
SELECT site, tags FROM register_camera('10.8.0.2', name => 'north 2', site => 'north');
SELECT site, tags FROM register_camera('10.8.0.3', name => 'south 1', site => 'south', tags => '{indoor}');
-- bad sites and tags
SELECT register_camera('10.8.0.9', site => '');
\echo :SQLSTATE
SELECT register_camera('10.8.0.9', tags => '{a,a}');
SELECT register_camera('10.8.0.9', tags => ARRAY[NULL::text]);
SELECT register_camera('10.8.0.9', tags => ARRAY[repeat('x', 65)]);
SELECT register_camera('10.8.0.9', tags => (SELECT array_agg('t' || i) FROM generate_series(1, 33) i));
-- filters
SELECT name FROM list_cameras(site => 'north') WHERE ip_address << '10.8.0.0/24';
SELECT name FROM list_cameras(tag => 'ptz') WHERE ip_address << '10.8.0.0/24';
SELECT name FROM list_cameras(site => 'north', tag => 'indoor') WHERE ip_address << '10.8.0.0/24';
-- changes: NULL keeps, '' clears the site, '{}' the tags
SELECT id AS cam FROM cameras WHERE ip_address = '10.8.0.1' \gset
SELECT site, tags FROM update_camera(:cam, name => 'renamed');
SELECT site, tags FROM update_camera(:cam, site => 'west', tags => '{ptz}');
SELECT site, tags FROM update_camera(:cam, site => '', tags => '{}');
-- the summary per site
SELECT s->>'site' AS site, s->'cameras' AS cameras, s->'unknown' AS unknown
FROM jsonb_array_elements(health_summary()->'sites') s WHERE s->>'site' IN ('north', 'south') ORDER BY 1;

-- bulk import: all or nothing, a bad row named by its index
SELECT count(*) FROM register_cameras('[{"ip_address": "10.8.1.1", "site": "east", "tags": ["a"]},
	{"ip_address": "10.8.1.2", "port": 8554, "name": "e2", "site": "east"}]');
SELECT name, port, site, tags FROM list_cameras(site => 'east');
SELECT register_cameras('[{"ip_address": "10.8.1.3"}, {"ip_address": "10.8.1.4", "port": 0}, {"ip_address": "10.8.1.5"}]');
\echo :SQLSTATE
\set VERBOSITY terse
SELECT register_cameras('[{"ip_address": "10.8.1.6"}, {"ip_address": "10.8.1.6"}]');
\echo :SQLSTATE
\set VERBOSITY default
SELECT register_cameras('[{"ip_address": "10.8.1.7"}, {"port": 554}]');
SELECT register_cameras('[{"ip_address": "10.8.1.7"}, {"ip_address": "10.8.1.8", "colour": "red"}]');
SELECT register_cameras('[{"ip_address": "10.8.1.7"}, "10.8.1.8"]');
SELECT register_cameras('[{"ip_address": "10.8.1.7", "tags": "ptz"}]');
SELECT register_cameras('{"ip_address": "10.8.1.7"}');
SELECT count(*) AS none_written FROM cameras WHERE ip_address << '10.8.1.0/24' AND ip_address <> '10.8.1.1' AND ip_address <> '10.8.1.2';

-- CSV: a header, quoted fields, empty = default, tags as an array literal
SELECT cameras_from_csv(E'ip_address,port,name,site,tags\n10.8.2.1,,"gate, north",north,"{ptz,outdoor}"\r\n10.8.2.2,8554,"say ""hi""",,\n');
SELECT count(*) FROM register_cameras(cameras_from_csv(E'ip_address,name,site\n10.8.2.1,csv 1,csvsite\n10.8.2.2,csv 2,csvsite\n'));
SELECT cameras_from_csv(E'ip_address,name\n10.8.2.3,"unterminated\n');
SELECT cameras_from_csv(E'ip_address,name\n10.8.2.3\n');
SELECT cameras_from_csv(E'ip_address,tags\n10.8.2.3,notanarray\n');
SELECT cameras_from_csv('');

-- export in the import's shape: it imports again (into a copy, here after a delete)
SELECT * FROM export_cameras() WHERE site = 'csvsite';
CREATE TEMP TABLE exported AS SELECT to_jsonb(e) AS cam FROM export_cameras() e WHERE e.site = 'csvsite';
SELECT count(*) FROM (SELECT delete_camera(id) FROM cameras WHERE site = 'csvsite') d;
SELECT name, site FROM register_cameras((SELECT jsonb_agg(cam) FROM exported)) ORDER BY name;

-- readers export masked credentials
SELECT (register_camera('10.8.3.1', rtsp_url => 'rtsp://u:pw@10.8.3.1/s', site => 'masked')).id IS NOT NULL AS registered;
CREATE ROLE regress_ch_sites_reader NOLOGIN IN ROLE camera_health_reader;
SET ROLE regress_ch_sites_reader;
SELECT rtsp_url FROM export_cameras() WHERE site = 'masked';
SELECT register_cameras('[{"ip_address": "10.8.3.2"}]');
\echo :SQLSTATE
RESET ROLE;
DROP ROLE regress_ch_sites_reader;
