"""GLSL for the embedded cameras. One vertex shader for static and instanced geometry; one fragment
shader that lights the RGB view (weather, night lights, fog, tone mapping, sensor noise) and writes
the privileged outputs; one that writes only ids and depth (the thermal camera's inputs)."""

VERTEX = """
#version 330
in vec3 in_pos; in vec3 in_normal; in vec3 in_color; in float in_sem; in vec4 in_aux;
// per instance (actors); static geometry binds a single identity instance
in vec3 i_pose;     // x, y, yaw [rad]
in vec3 i_size;     // length, width, height [m]
in vec3 i_color;
in vec3 i_ids;      // sem override (<0 keeps vertex sem), instance id, flags
uniform mat4 view_proj;
uniform mat4 view;
uniform float instanced;
invariant gl_Position;  // the depth pre-pass and the shading pass must agree bit for bit
out vec3 v_world; out vec3 v_normal; out vec3 v_color; out float v_depth;
flat out int v_sem; flat out int v_inst; flat out int v_flags; out vec4 v_aux;
void main() {
    vec3 p = in_pos; vec3 n = in_normal; vec3 col = in_color;
    int sem = int(in_sem + 0.5); int inst = 0; int flags = 0;
    if (instanced > 0.5) {
        flags = int(i_ids.z + 0.5);
        p = p * i_size;
        // knocked down: rotate 90 deg about the lateral axis (a rotation, not a mirror: culling stays right)
        if ((flags & 4) != 0) { p = vec3(p.z - 0.4 * i_size.z, p.y, -p.x * 0.5 + 0.25); n = vec3(n.z, n.y, -n.x); }
        float c = cos(i_pose.z), s = sin(i_pose.z);
        p = vec3(c * p.x - s * p.y + i_pose.x, s * p.x + c * p.y + i_pose.y, p.z);
        n = vec3(c * n.x - s * n.y, s * n.x + c * n.y, n.z);
        if (col.r > 0.99 && col.g > 0.99 && col.b > 0.99) col = i_color;
        if (i_ids.x >= 0.0) sem = int(i_ids.x + 0.5);
        inst = int(i_ids.y + 0.5);
    }
    v_world = p; v_normal = n; v_color = col; v_sem = sem; v_inst = inst; v_flags = flags; v_aux = in_aux;
    vec4 pv = view * vec4(p, 1.0);
    v_depth = -pv.z;
    gl_Position = view_proj * vec4(p, 1.0);
}
"""

COMMON = """
#version 330
in vec3 v_world; in vec3 v_normal; in vec3 v_color; in float v_depth;
flat in int v_sem; flat in int v_inst; flat in int v_flags; in vec4 v_aux;
uniform float lane_width;
uniform float stop_back;
uniform float crosswalk;
// Road paint: returns 0 none, 1 white, 2 yellow.
int road_paint(int lanes, float u, float v, float L) {
    float au = abs(u);
    if (au > 0.1 && au < 0.3) return 2;
    for (int k = 1; k < 3; k++) {
        if (k < lanes && abs(au - float(k) * lane_width) < 0.08 && mod(v, 9.0) < 3.0) return 1;
    }
    if (abs(au - (float(lanes) * lane_width - 0.3)) < 0.08) return 1;
    if ((v < crosswalk || v > L - crosswalk) && mod(au, 1.2) < 0.6 && au < float(lanes) * lane_width - 0.5) return 1;
    if (u > 0.0 && abs(v - (L - stop_back)) < 0.25) return 1;
    if (u < 0.0 && abs(v - stop_back) < 0.25) return 1;
    return 0;
}
"""

IDS_FRAGMENT = COMMON + """
layout(location = 0) out uint o_sem;
layout(location = 1) out int o_inst;
layout(location = 2) out float o_depth;
void main() {
    int mat = int(v_aux.x + 0.5);
    int sem = v_sem;
    if (mat >= 11 && mat <= 12 && road_paint(mat - 10, v_aux.y, v_aux.z, v_aux.w) > 0) sem = 24;
    o_sem = uint(sem); o_inst = v_inst; o_depth = v_depth;
}
"""

N_LAMPS = 6  # street lamps lit per frame (nearest to the camera)
N_NPC_LIGHTS = 4  # NPC headlight pairs lit per frame


def rgb_fragment(street_lights: bool, headlights: bool, privileged: bool) -> str:
    """The lit RGB shader, specialised: llvmpipe pays for every light loop iteration and every
    render target, used or not. ``privileged`` adds the clean image, ids and depth outputs."""
    defines = "#define PRIVILEGED 1\n" if privileged else ""
    if street_lights or headlights:
        defines += f"#define LIGHTS 1\n#define N_LAMPS {N_LAMPS if street_lights else 0}\n#define N_NPC {N_NPC_LIGHTS}\n"
    return RGB_FRAGMENT.replace("#version 330\n", "#version 330\n" + defines, 1)


def sky_rgb_fragment(privileged: bool) -> str:
    return SKY_RGB_FRAGMENT.replace("#version 330\n", "#version 330\n#define PRIVILEGED 1\n", 1) if privileged else SKY_RGB_FRAGMENT


RGB_FRAGMENT = COMMON + """
layout(location = 0) out vec4 o_rgb;
#ifdef PRIVILEGED
layout(location = 1) out vec4 o_clean;
layout(location = 2) out uint o_sem;
layout(location = 3) out int o_inst;
layout(location = 4) out float o_depth;
#endif
uniform vec3 cam_pos;
uniform vec3 sun_dir;      // towards the sun
uniform float sun;         // direct sun irradiance scale
uniform float ambient;     // sky ambient scale
uniform vec3 fog_color;    // in-scattered light colour at full fog
uniform float beta;        // [1/m] visible extinction
uniform float exposure;
uniform float noise_sigma;
uniform uint frame_seed;
uniform int street_on;
uniform int head_on;       // ego headlights
uniform int npc_lights_on;
#ifdef LIGHTS
#if N_LAMPS > 0
uniform vec3 lamps[N_LAMPS];     // nearest street lamps; unused slots far away
#endif
uniform vec3 head_pos;  uniform vec3 head_dir;
uniform vec3 npc_pos[N_NPC]; uniform vec3 npc_dir[N_NPC];  // nearest NPC headlights
#endif
uniform sampler2D noise_tex;  // unit Gaussian noise, RGB, 256x256
uniform ivec2 noise_offset;
uniform usampler2D signal_tex;
uniform float blink;
#ifdef PRIVILEGED
// the clean image: the same camera under clear noon (no street lights, headlights or noise)
uniform vec3 c_sun_dir; uniform float c_sun; uniform float c_ambient; uniform vec3 c_fog_color;
uniform float c_beta; uniform float c_exposure;
#endif

float hash(uvec3 x) {
    uint h = x.x * 0x8da6b343u ^ x.y * 0xd8163841u ^ x.z * 0xcb1ab31fu;
    h ^= h >> 13; h *= 0x5bd1e995u; h ^= h >> 15;
    return float(h & 0xffffffu) / 16777216.0;
}
vec3 spot(vec3 p, vec3 n, vec3 lp, vec3 ld, float power, float cos_in, float cos_out) {
    vec3 L = lp - p; float d2 = max(dot(L, L), 0.25); vec3 l = L * inversesqrt(d2);
    float cone = smoothstep(cos_out, cos_in, dot(-l, ld));
    return vec3(power * cone * max(dot(n, l), 0.0) / d2);
}
vec3 tonemap(vec3 c) { c = c * (2.51 * c + 0.03) / (c * (2.43 * c + 0.59) + 0.14); return sqrt(clamp(c, 0.0, 1.0)); /* gamma 2.0: near sRGB; pow is dear on llvmpipe */ }

void main() {
    int mat = int(v_aux.x + 0.5);
    int sem = v_sem;
    vec3 albedo = v_color;
    vec3 n = normalize(v_normal);
    vec3 emit = vec3(0.0);
    vec3 emit_clean = vec3(0.0);
    if (mat >= 11 && mat <= 12) {
        int paint = road_paint(mat - 10, v_aux.y, v_aux.z, v_aux.w);
        if (paint == 1) { albedo = vec3(0.75); sem = 24; }
        if (paint == 2) { albedo = vec3(0.75, 0.6, 0.1); sem = 24; }
    } else if (mat == 3) {
        vec2 f = v_aux.yz;
        bool win = mod(f.x, 3.5) > 0.8 && mod(f.x, 3.5) < 2.7 && mod(f.y, 3.4) > 1.0 && mod(f.y, 3.4) < 2.6 && f.y > 2.0;
        if (win) {
            albedo = vec3(0.08, 0.1, 0.12);
            float lit = hash(uvec3(uint(f.x / 3.5), uint(f.y / 3.4), uint(abs(v_world.x + v_world.y))));
            if (lit > 0.55) emit = vec3(1.0, 0.8, 0.5) * 0.06 * (1.0 - min(ambient * 4.0, 1.0));
#ifdef PRIVILEGED
            if (lit > 0.55) emit_clean = vec3(1.0, 0.8, 0.5) * 0.06 * (1.0 - min(c_ambient * 4.0, 1.0));
#endif
        }
    } else if (mat == 4) {
        int state = int(texelFetch(signal_tex, ivec2(int(v_aux.y + 0.5), 0), 0).r);
        int lamp = int(v_aux.z + 0.5);
        // LED signal colours (about 630, 590 and 505 nm) in linear RGB; 3x the white point: bright enough
        // to saturate their main channel, not so bright that tone mapping bleaches them to white
        vec3 lc = lamp == 0 ? vec3(1.0, 0.02, 0.01) : (lamp == 1 ? vec3(1.0, 0.42, 0.0) : vec3(0.02, 1.0, 0.55));
        // state: 0 red, 1 yellow, 2 green; lamp order red, yellow, green
        if ((state == 0 && lamp == 0) || (state == 1 && lamp == 1) || (state == 2 && lamp == 2)) { emit = lc * 3.0; emit_clean = lc * 3.0; }
        else albedo = lc * 0.08;
    } else if (mat == 5) {
        if (street_on == 1) emit = vec3(1.0, 0.85, 0.6) * 8.0;
    } else if (mat == 6) {
        if (npc_lights_on == 1 || (v_flags & 2) != 0) emit = vec3(1.0, 0.97, 0.9) * 5.0;
        if ((v_flags & 2) != 0) emit_clean = vec3(1.0, 0.97, 0.9) * 5.0;
    } else if (mat == 7) {
        float b = (v_flags & 1) != 0 ? 5.0 : (npc_lights_on == 1 ? 1.2 : 0.0);
        if ((v_flags & 2) != 0 && blink > 0.5) b = 5.0;
        emit = vec3(1.0, 0.05, 0.03) * b;
        float bc = (v_flags & 1) != 0 || ((v_flags & 2) != 0 && blink > 0.5) ? 5.0 : 0.0;
        emit_clean = vec3(1.0, 0.05, 0.03) * bc;
    }
    // weathered, lit
    vec3 light = vec3(ambient) + vec3(sun) * max(dot(n, sun_dir), 0.0);
#ifdef LIGHTS
#if N_LAMPS > 0
    for (int i = 0; i < N_LAMPS; i++) light += spot(v_world, n, lamps[i], vec3(0.0, 0.0, -1.0), 2.0, 0.8, 0.35) * vec3(1.0, 0.85, 0.6);
#endif
    if (head_on == 1) light += spot(v_world, n, head_pos, head_dir, 22.0, 0.98, 0.9) * vec3(1.0, 0.97, 0.9);
    for (int i = 0; i < N_NPC; i++) light += spot(v_world, n, npc_pos[i], npc_dir[i], 30.0, 0.97, 0.88);
#endif
    vec3 col = albedo * light + emit;
    float dist = length(v_world - cam_pos);
    float T = exp(-beta * dist);
    // in-scatter: ambient fog colour plus the veil of our own headlights scattered back
    vec3 veil = vec3(0.0);
#ifdef LIGHTS
    if (head_on == 1) {
        vec3 vdir = normalize(v_world - cam_pos);
        veil = HEAD_VEIL * smoothstep(0.7, 1.0, dot(vdir, head_dir)) * (1.0 - exp(-beta * min(dist, 40.0)));
    }
#endif
    col = col * T + fog_color * (1.0 - T) + veil;
    vec3 rgb = tonemap(col * exposure);
    vec3 g = texelFetch(noise_tex, (ivec2(gl_FragCoord.xy) + noise_offset) & 255, 0).rgb;
    rgb += noise_sigma * sqrt(max(rgb, vec3(0.02))) * g;
    o_rgb = vec4(clamp(rgb, 0.0, 1.0), 1.0);
#ifdef PRIVILEGED
    vec3 clean = albedo * (c_ambient + c_sun * max(dot(n, c_sun_dir), 0.0)) + emit_clean;
    float Tc = exp(-c_beta * dist);
    o_clean = vec4(tonemap((clean * Tc + c_fog_color * (1.0 - Tc)) * c_exposure), 1.0);
    o_sem = uint(sem); o_inst = v_inst; o_depth = v_depth;
#endif
}
"""

# the veil our own headlights scatter back out of fog, at full fog (radiance, linear RGB): one
# constant for the scene shader and the sky shader, so the two meet without an edge
HEAD_VEIL = "#define HEAD_VEIL (vec3(1.0, 0.97, 0.9) * 0.025)\n"
RGB_FRAGMENT = RGB_FRAGMENT.replace("#version 330\n", "#version 330\n" + HEAD_VEIL, 1)

DEPTH_FRAGMENT = """
#version 330
void main() {}
"""

# The sky is drawn after the scene at depth 1.0 with a <= test: it lands only where nothing else did.
SKY_VERTEX = """
#version 330
uniform mat4 inv_view_proj;
out vec2 v_ndc;
out vec3 v_dir;
void main() {
    vec2 p = vec2((gl_VertexID == 1) ? 3.0 : -1.0, (gl_VertexID == 2) ? 3.0 : -1.0);
    vec4 far = inv_view_proj * vec4(p, 1.0, 1.0);
    vec4 near = inv_view_proj * vec4(p, -1.0, 1.0);
    v_dir = far.xyz / far.w - near.xyz / near.w;  // linear in screen space: interpolate, normalise per pixel
    v_ndc = p; gl_Position = vec4(p, 1.0, 1.0);
}
"""

SKY_IDS_FRAGMENT = """
#version 330
in vec2 v_ndc;
layout(location = 0) out uint o_sem;
layout(location = 1) out int o_inst;
layout(location = 2) out float o_depth;
void main() { o_sem = 11u; o_inst = 0; o_depth = 1.0e4; }
"""

SKY_RGB_FRAGMENT = """
#version 330
in vec2 v_ndc;
in vec3 v_dir;
layout(location = 0) out vec4 o_rgb;
#ifdef PRIVILEGED
layout(location = 1) out vec4 o_clean;
layout(location = 2) out uint o_sem;
layout(location = 3) out int o_inst;
layout(location = 4) out float o_depth;
#endif
uniform vec3 sky_zenith; uniform vec3 sky_horizon; uniform vec3 fog_color;
uniform float fog_sky;     // 0..1 how much fog hides the sky
uniform float beta;        // [1/m] visible extinction
uniform int head_on;       // ego headlights
uniform vec3 head_dir;
uniform float exposure; uniform float noise_sigma;
uniform sampler2D noise_tex; uniform ivec2 noise_offset;
#ifdef PRIVILEGED
uniform vec3 c_sky_zenith; uniform vec3 c_sky_horizon; uniform vec3 c_fog_color; uniform float c_fog_sky; uniform float c_exposure;
#endif
vec3 tonemap(vec3 c) { c = c * (2.51 * c + 0.03) / (c * (2.43 * c + 0.59) + 0.14); return sqrt(clamp(c, 0.0, 1.0)); /* gamma 2.0: near sRGB; pow is dear on llvmpipe */ }
void main() {
    vec3 dir = normalize(v_dir);
    float up = clamp(dir.z, 0.0, 1.0);
    vec3 sky = mix(sky_horizon, sky_zenith, pow(up, 0.5));
    sky = mix(sky, fog_color, fog_sky);
    // the veil of our own headlights lies in the air in front of the sky as in front of everything:
    // the scene shader's veil for a distance past its 40 m saturation, so fog glows on across the horizon
    if (head_on == 1) sky += HEAD_VEIL * smoothstep(0.7, 1.0, dot(dir, head_dir)) * (1.0 - exp(-beta * 40.0));
    vec3 rgb = tonemap(sky * exposure);
    rgb += noise_sigma * sqrt(max(rgb, vec3(0.02))) * texelFetch(noise_tex, (ivec2(gl_FragCoord.xy) + noise_offset) & 255, 0).rgb;
    o_rgb = vec4(clamp(rgb, 0.0, 1.0), 1.0);
#ifdef PRIVILEGED
    o_clean = vec4(tonemap(mix(mix(c_sky_horizon, c_sky_zenith, pow(up, 0.5)), c_fog_color, c_fog_sky) * c_exposure), 1.0);
    o_sem = 11u; o_inst = 0; o_depth = 1.0e4;
#endif
}
"""
SKY_RGB_FRAGMENT = SKY_RGB_FRAGMENT.replace("#version 330\n", "#version 330\n" + HEAD_VEIL, 1)
