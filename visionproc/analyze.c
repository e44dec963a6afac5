/*
 * analyze.c
 *	  visionproc analyze --reference REF IMAGE [--later IMAGE2 ...]
 *
 * Runs the vision analysis on files (images, or the first frame of a video
 * file) and prints the result as one JSON object on stdout: what the tests
 * and the accuracy benchmark use.  Exit status 0 with a result, 2 for bad
 * usage or a file that cannot be read (with the reason on stderr).
 */
#include <stdio.h>
#include <string.h>

#include <libavutil/log.h>

#include "config.h"
#include "frame.h"
#include "vision.h"

static const char usage[] =
"usage: visionproc analyze --reference REF IMAGE [--later IMAGE2 ...]\n"
"  REF     the camera's reference frame (image or video file)\n"
"  IMAGE   the frame to judge against it\n"
"  IMAGE2  frames about a second apart after IMAGE (up to 4), to detect a frozen stream\n";

static GreyImage *
load(const char *what, const char *path)
{
	char		err[256];
	GreyImage  *img = grey_from_file(path, err, sizeof(err));

	if (img == NULL)
		fprintf(stderr, "visionproc analyze: cannot read the %s %s: %s\n", what, path, err);
	return img;
}

int
analyze_main(int argc, char **argv)
{
	const char *ref_path = NULL;
	const char *image_path = NULL;
	const char *later_paths[VISION_MAX_LATER];
	GreyImage  *ref = NULL,
			   *frame = NULL;
	VisionInput in = {0};
	json_object *result;
	json_object *laters;
	int			rc = 2;

	/* argv[0] is the command name, "analyze" */
	for (int i = 1; i < argc; i++)
	{
		const char **slot = NULL;

		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
		{
			fputs(usage, stdout);
			return 0;
		}
		if (strcmp(argv[i], "--reference") == 0)
			slot = &ref_path;
		else if (strcmp(argv[i], "--later") == 0)
		{
			if (i + 1 >= argc || in.nlater == VISION_MAX_LATER)
			{
				fprintf(stderr, "visionproc analyze: --later takes one file, at most %d times\n%s",
						VISION_MAX_LATER, usage);
				return 2;
			}
			later_paths[in.nlater++] = argv[++i];
			continue;
		}
		if (slot)
		{
			if (i + 1 >= argc || *slot != NULL)
			{
				fprintf(stderr, "visionproc analyze: %s needs one file\n%s", argv[i], usage);
				return 2;
			}
			*slot = argv[++i];
		}
		else if (argv[i][0] == '-' && argv[i][1] != '\0')
		{
			fprintf(stderr, "visionproc analyze: unknown option %s\n%s", argv[i], usage);
			return 2;
		}
		else if (image_path == NULL)
			image_path = argv[i];
		else
		{
			fprintf(stderr, "visionproc analyze: more than one IMAGE\n%s", usage);
			return 2;
		}
	}
	if (ref_path == NULL || image_path == NULL)
	{
		fprintf(stderr, "visionproc analyze: --reference REF and IMAGE are required\n%s", usage);
		return 2;
	}

	/* our own messages say what failed; FFmpeg's would only add noise */
	av_log_set_level(AV_LOG_QUIET);
	if ((ref = load("reference", ref_path)) == NULL ||
		(frame = load("image", image_path)) == NULL)
		goto done;
	for (int i = 0; i < in.nlater; i++)
		if ((in.later[i] = load("later image", later_paths[i])) == NULL)
			goto done;

	in.reference = ref;
	in.frame = frame;
	result = vision_analyze(&in);
	json_object_object_add(result, "reference", json_object_new_string(ref_path));
	json_object_object_add(result, "image", json_object_new_string(image_path));
	if (in.nlater > 0)
	{
		laters = json_object_new_array();
		for (int i = 0; i < in.nlater; i++)
			json_object_array_add(laters, json_object_new_string(later_paths[i]));
		json_object_object_add(result, "later", laters);
	}
	puts(json_object_to_json_string_ext(result, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(result);
	rc = fflush(stdout) == 0 ? 0 : 2;

done:
	grey_free(ref);
	grey_free(frame);
	for (int i = 0; i < in.nlater; i++)
		grey_free((GreyImage *) in.later[i]);
	return rc;
}
