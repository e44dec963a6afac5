/*
 * frozen.c
 *	  Does the stream still move?  Two frames about a second apart.
 *
 * A live camera never sends the same picture twice: even a still scene
 * changes by sensor noise from frame to frame.  A frozen stream (an encoder
 * repeating its last picture, a stuck snapshot) sends the same picture,
 * only re-encoded: what differs is compression noise, a grey level or two
 * around edges.  So a pixel counts as changed when it moved by more than
 * NOISE_FLOOR levels, and the stream is frozen when hardly any did.
 *
 * Only pixels with some texture are counted: a flat area (sky, a wall, a
 * cover over the lens) looks the same in a live and in a frozen stream once
 * compressed, and would only dilute the count.  A picture with too little
 * texture is not judged at all.
 *
 * vision.c compares each pair of consecutive frames of a few taken a
 * second apart and keeps the least change: compression noise comes and goes
 * with the encoder's keyframes, sensor noise never stops.  Its limit: a
 * frozen picture re-encoded at coarse quality can still change between
 * every two keyframes as much as a still scene with light sensor noise
 * does; the threshold keeps such live scenes quiet, so a coarse frozen
 * stream may go unseen.
 */
#include <stdlib.h>
#include <string.h>

#include "metrics.h"

#define NOISE_FLOOR 2			/* grey levels */
#define CHANGED_THRESHOLD 0.075 /* frozen below this share of changed pixels */
#define TEXTURE_LEVEL 8			/* |dx| + |dy| (central differences, x2) */
#define MIN_TEXTURED 0.15		/* share of the frame needed to judge */

static inline int
texture(const uint8_t *p, int w)
{
	return abs(p[1] - p[-1]) + abs(p[w] - p[-w]);
}

void
frozen_measure(const GreyImage *frame, const GreyImage *later, FrozenResult *res)
{
	int			w = frame->width;
	int			h = frame->height;
	size_t		textured = 0;
	size_t		changed = 0;
	size_t		total = 0;

	memset(res, 0, sizeof(*res));
	res->noise_floor = NOISE_FLOOR;
	res->threshold = CHANGED_THRESHOLD;
	res->min_textured = MIN_TEXTURED;
	if (later->width != w || later->height != h || w < 3 || h < 3)
		return;

	for (int y = 1; y < h - 1; y++)
	{
		const uint8_t *a = frame->pixels + (size_t) y * w;
		const uint8_t *b = later->pixels + (size_t) y * w;

		for (int x = 1; x < w - 1; x++)
		{
			int			d = abs(a[x] - b[x]);
			int			ta = texture(a + x, w);
			int			tb = texture(b + x, w);
			int			tex = (ta > tb ? ta : tb) >= TEXTURE_LEVEL;

			total += d;
			textured += tex;
			changed += tex & (d > NOISE_FLOOR);
		}
	}
	res->mean_difference = total / ((double) (w - 2) * (h - 2));
	res->textured = (double) textured / ((double) (w - 2) * (h - 2));
	res->measurable = res->textured >= MIN_TEXTURED;
	res->changed = textured ? (double) changed / textured : 0;
	res->detected = res->measurable && res->changed < CHANGED_THRESHOLD;
}

/*
 * vision.c judges the least change of consecutive pairs, so a pair with
 * less than half the threshold's change is frozen whatever the next pairs
 * show, and one with more than twice it is a live stream unless a later
 * pair is frozen, which only a stream that froze during the grab would
 * be.  Only a pair in between needs the next frame: the grab stops after
 * the first conclusive pair, a second into the stream instead of two.
 */
bool
frozen_pair_conclusive(const GreyImage *frame, const GreyImage *later)
{
	FrozenResult res;

	frozen_measure(frame, later, &res);
	return !res.measurable || res.changed < CHANGED_THRESHOLD / 2 || res.changed > CHANGED_THRESHOLD * 2;
}
