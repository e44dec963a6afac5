/*
 * rtsp_server: a test RTSP server for the integration tests.
 *
 * usage: rtsp_server --port PORT --dir DIR [--address 127.0.0.1]
 *
 * rtsp://ADDRESS:PORT/NAME plays the H.264 MP4 clip that DIR/NAME is (or
 * points to) once, at real-time pace.  DIR/NAME is resolved when a
 * client asks for it, so a test can re-point a symlink (ln -sfn) and the next
 * client session gets the new clip; names that appear in DIR after start-up
 * are served too.  Every client session gets its own pipeline, from the start
 * of the clip.
 *
 * Prints "ready" on stdout once listening; errors go to stderr.
 * SIGTERM / SIGINT quit cleanly.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <glib-unix.h>
#include <gst/gst.h>
#include <gst/rtsp-server/rtsp-server.h>

#define PIPELINE \
	"filesrc name=src ! qtdemux ! h264parse config-interval=-1 " \
	"! rtph264pay name=pay0 pt=96 config-interval=1"

/* ------------------------------------------------------------------------
 * ClipMedia: a media that says on stderr why a client got 503.
 *
 * Clips are not looped: every client session plays its clip from the
 * start, and a grab takes a couple of seconds of an 8-second clip.  (Looping
 * with segment seeks raced with PLAY inside rtsp-server and tripped an
 * assertion in gst_rtsp_media_get_rates.)
 */
#define CLIP_TYPE_MEDIA (clip_media_get_type ())
G_DECLARE_FINAL_TYPE (ClipMedia, clip_media, CLIP, MEDIA, GstRTSPMedia)

struct _ClipMedia {
	GstRTSPMedia parent;
};

G_DEFINE_TYPE (ClipMedia, clip_media, GST_TYPE_RTSP_MEDIA)

static gboolean
clip_media_handle_message (GstRTSPMedia *media, GstMessage *message)
{
	GError *error = NULL;

	/* rtsp-server only logs it at GST_DEBUG level */
	if (GST_MESSAGE_TYPE (message) == GST_MESSAGE_ERROR) {
		gst_message_parse_error (message, &error, NULL);
		g_printerr ("rtsp_server: %s: %s\n", GST_OBJECT_NAME (GST_MESSAGE_SRC (message)), error->message);
		g_error_free (error);
	}
	return GST_RTSP_MEDIA_CLASS (clip_media_parent_class)->handle_message (media, message);
}

static void
clip_media_class_init (ClipMediaClass *klass)
{
	GST_RTSP_MEDIA_CLASS (klass)->handle_message = clip_media_handle_message;
}

static void
clip_media_init (ClipMedia *self)
{
	(void) self;
}

/* ------------------------------------------------------------------------
 * ClipFactory: the factory of one mount point, DIR/NAME.
 */
#define CLIP_TYPE_FACTORY (clip_factory_get_type ())
G_DECLARE_FINAL_TYPE (ClipFactory, clip_factory, CLIP, FACTORY, GstRTSPMediaFactory)

struct _ClipFactory {
	GstRTSPMediaFactory parent;
	gchar *path;		/* DIR/NAME, resolved for each new media */
};

G_DEFINE_TYPE (ClipFactory, clip_factory, GST_TYPE_RTSP_MEDIA_FACTORY)

static GstElement *
clip_factory_create_element (GstRTSPMediaFactory *factory, const GstRTSPUrl *url)
{
	ClipFactory *self = CLIP_FACTORY (factory);
	GError *error = NULL;
	GstElement *bin, *src;
	char *file;

	(void) url;
	/* Called for each new client session: this is where a re-pointed symlink takes effect. */
	file = realpath (self->path, NULL);
	if (file == NULL) {
		g_printerr ("rtsp_server: %s: %s\n", self->path, g_strerror (errno));
		return NULL;
	}
	bin = gst_parse_bin_from_description (PIPELINE, FALSE, &error);
	if (bin == NULL) {
		g_printerr ("rtsp_server: %s\n", error->message);
		g_error_free (error);
		free (file);
		return NULL;
	}
	src = gst_bin_get_by_name (GST_BIN (bin), "src");
	g_object_set (src, "location", file, NULL);
	gst_object_unref (src);
	free (file);
	return bin;
}

static void
clip_factory_finalize (GObject *object)
{
	g_free (CLIP_FACTORY (object)->path);
	G_OBJECT_CLASS (clip_factory_parent_class)->finalize (object);
}

static void
clip_factory_class_init (ClipFactoryClass *klass)
{
	G_OBJECT_CLASS (klass)->finalize = clip_factory_finalize;
	GST_RTSP_MEDIA_FACTORY_CLASS (klass)->create_element = clip_factory_create_element;
}

static void
clip_factory_init (ClipFactory *self)
{
	GstRTSPMediaFactory *factory = GST_RTSP_MEDIA_FACTORY (self);

	/* Not shared: each client gets its own pipeline from the clip's start. */
	gst_rtsp_media_factory_set_shared (factory, FALSE);
	gst_rtsp_media_factory_set_media_gtype (factory, CLIP_TYPE_MEDIA);
}

static GstRTSPMediaFactory *
clip_factory_new (const gchar *path)
{
	ClipFactory *self = g_object_new (CLIP_TYPE_FACTORY, NULL);

	self->path = g_strdup (path);
	return GST_RTSP_MEDIA_FACTORY (self);
}

/* ------------------------------------------------------------------------
 * DirMounts: mount points that follow DIR.
 *
 * gst_rtsp_mount_points_match() is not virtual, but the client always calls
 * make_path() just before it: that is where DIR/NAME gets mounted when it
 * appears, and unmounted when it goes.
 */
#define DIR_TYPE_MOUNTS (dir_mounts_get_type ())
G_DECLARE_FINAL_TYPE (DirMounts, dir_mounts, DIR, MOUNTS, GstRTSPMountPoints)

struct _DirMounts {
	GstRTSPMountPoints parent;
	gchar *dir;
	GMutex lock;
	GHashTable *mounted;	/* names with a factory */
};

G_DEFINE_TYPE (DirMounts, dir_mounts, GST_TYPE_RTSP_MOUNT_POINTS)

/* Mount DIR/NAME if it appeared, unmount it if it is gone (so the client gets 404). */
static void
sync_mount (DirMounts *self, const gchar *path)
{
	GstRTSPMountPoints *mounts = GST_RTSP_MOUNT_POINTS (self);
	const gchar *slash;
	gchar *name, *file, *mount;
	gboolean exists, mounted;

	/* path is "/NAME" or "/NAME/stream=0" (the control URL of a stream) */
	if (path[0] != '/')
		return;
	slash = strchr (path + 1, '/');
	name = slash ? g_strndup (path + 1, slash - path - 1) : g_strdup (path + 1);
	if (name[0] == '\0' || name[0] == '.') {
		g_free (name);
		return;
	}
	file = g_build_filename (self->dir, name, NULL);
	mount = g_strconcat ("/", name, NULL);

	g_mutex_lock (&self->lock);
	exists = g_file_test (file, G_FILE_TEST_EXISTS);	/* follows symlinks */
	mounted = g_hash_table_contains (self->mounted, name);
	if (exists && !mounted) {
		gst_rtsp_mount_points_add_factory (mounts, mount, clip_factory_new (file));
		g_hash_table_add (self->mounted, g_strdup (name));
	} else if (!exists && mounted) {
		gst_rtsp_mount_points_remove_factory (mounts, mount);
		g_hash_table_remove (self->mounted, name);
	}
	g_mutex_unlock (&self->lock);

	g_free (mount);
	g_free (file);
	g_free (name);
}

static gchar *
dir_mounts_make_path (GstRTSPMountPoints *mounts, const GstRTSPUrl *url)
{
	gchar *path;

	path = GST_RTSP_MOUNT_POINTS_CLASS (dir_mounts_parent_class)->make_path (mounts, url);
	if (path != NULL)
		sync_mount (DIR_MOUNTS (mounts), path);
	return path;
}

static void
dir_mounts_finalize (GObject *object)
{
	DirMounts *self = DIR_MOUNTS (object);

	g_free (self->dir);
	g_hash_table_unref (self->mounted);
	g_mutex_clear (&self->lock);
	G_OBJECT_CLASS (dir_mounts_parent_class)->finalize (object);
}

static void
dir_mounts_class_init (DirMountsClass *klass)
{
	G_OBJECT_CLASS (klass)->finalize = dir_mounts_finalize;
	GST_RTSP_MOUNT_POINTS_CLASS (klass)->make_path = dir_mounts_make_path;
}

static void
dir_mounts_init (DirMounts *self)
{
	g_mutex_init (&self->lock);
	self->mounted = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
}

static GstRTSPMountPoints *
dir_mounts_new (const gchar *dir)
{
	DirMounts *self = g_object_new (DIR_TYPE_MOUNTS, NULL);

	self->dir = g_strdup (dir);
	return GST_RTSP_MOUNT_POINTS (self);
}

/* ------------------------------------------------------------------------ */

static gboolean
quit (gpointer loop)
{
	g_main_loop_quit (loop);
	return G_SOURCE_CONTINUE;
}

/* Sessions of clients that vanished without a TEARDOWN expire here. */
static gboolean
cleanup_sessions (gpointer server)
{
	GstRTSPSessionPool *pool = gst_rtsp_server_get_session_pool (server);

	gst_rtsp_session_pool_cleanup (pool);
	g_object_unref (pool);
	return G_SOURCE_CONTINUE;
}

static GstRTSPFilterResult
close_client (GstRTSPServer *server, GstRTSPClient *client, gpointer user_data)
{
	(void) server;
	(void) client;
	(void) user_data;
	return GST_RTSP_FILTER_REMOVE;
}

int
main (int argc, char **argv)
{
	gchar *address = NULL, *dir = NULL;
	gint port = 0;
	GOptionEntry entries[] = {
		{ "port", 0, 0, G_OPTION_ARG_INT, &port, "port to listen on", "PORT" },
		{ "dir", 0, 0, G_OPTION_ARG_FILENAME, &dir, "directory of clips (or symlinks to them)", "DIR" },
		{ "address", 0, 0, G_OPTION_ARG_STRING, &address, "address to bind (default 127.0.0.1)", "ADDR" },
		{ NULL, 0, 0, 0, NULL, NULL, NULL }
	};
	GOptionContext *context;
	GError *error = NULL;
	GstRTSPServer *server;
	GstRTSPMountPoints *mounts;
	GMainLoop *loop;
	gchar *service;
	guint server_id, cleanup_id, sigterm_id, sigint_id;

	context = g_option_context_new ("- serve video clips over RTSP for tests");
	g_option_context_add_main_entries (context, entries, NULL);
	g_option_context_add_group (context, gst_init_get_option_group ());
	if (!g_option_context_parse (context, &argc, &argv, &error)) {
		g_printerr ("rtsp_server: %s\n", error->message);
		return 2;
	}
	g_option_context_free (context);
	if (port < 1 || port > 65535 || dir == NULL) {
		g_printerr ("usage: rtsp_server --port PORT --dir DIR [--address 127.0.0.1]\n");
		return 2;
	}
	if (!g_file_test (dir, G_FILE_TEST_IS_DIR)) {
		g_printerr ("rtsp_server: %s: not a directory\n", dir);
		return 2;
	}
	if (address == NULL)
		address = g_strdup ("127.0.0.1");

	loop = g_main_loop_new (NULL, FALSE);
	server = gst_rtsp_server_new ();
	service = g_strdup_printf ("%d", port);
	gst_rtsp_server_set_address (server, address);
	gst_rtsp_server_set_service (server, service);
	mounts = dir_mounts_new (dir);
	gst_rtsp_server_set_mount_points (server, mounts);
	g_object_unref (mounts);

	server_id = gst_rtsp_server_attach (server, NULL);
	if (server_id == 0) {
		g_printerr ("rtsp_server: cannot listen on %s:%s\n", address, service);
		return 1;
	}
	cleanup_id = g_timeout_add_seconds (2, cleanup_sessions, server);
	sigterm_id = g_unix_signal_add (SIGTERM, quit, loop);
	sigint_id = g_unix_signal_add (SIGINT, quit, loop);

	printf ("ready\n");
	fflush (stdout);
	g_main_loop_run (loop);

	g_source_remove (sigint_id);
	g_source_remove (sigterm_id);
	g_source_remove (cleanup_id);
	g_source_remove (server_id);
	gst_rtsp_server_client_filter (server, close_client, NULL);
	g_object_unref (server);
	g_main_loop_unref (loop);
	g_free (service);
	g_free (address);
	g_free (dir);
	return 0;
}
