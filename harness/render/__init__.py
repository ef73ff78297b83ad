"""Rasterised cameras of the embedded world (moderngl over headless EGL)."""

# Bumped whenever a change alters rendered pixels. Training shards record it (``distill.policy.data``),
# so data collected by an older renderer is collected again instead of silently reused.
# 2: lit signal lamps always light at least one pixel, in saturated LED colours (tone mapping used to
#    bleach them to near white); lamps 0.28 m across (were 0.24 m).
# 3: the privileged clean image is the camera's own clear-noon image (its exposure, tone curve, sky,
#    brake lamps) without noise; it used to be a brighter, differently lit picture.
# 4: the headlights' fog veil lies over the sky too (it stopped at geometry, so at night in fog a dark
#    sky showed far-field silhouettes and a hard horizon through fog that should hide them).
RENDER_VERSION = 4
