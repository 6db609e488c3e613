namespace Astmt.Models.Synthetic;

/// <summary>
/// Ray-casts a <see cref="Scene"/> through a pinhole camera, one ray per pixel centre. All labels come from the same hit, so
/// they agree by construction: the depth is the hit's distance along the view axis, the normal the hit surface's normal in
/// the camera frame, the colour the class's colour and texture lit by that normal (Lambert plus ambient) with sensor noise.
/// </summary>
public static class SceneRenderer
{
    private const int FloorInstance = 1, CeilingInstance = 2, WallInstance = 3;

    /// <summary>Renders <paramref name="scene"/> into <paramref name="output"/> (whose size sets the resolution).</summary>
    public static void Render(Scene scene, SceneRendering output)
    {
        int h = output.Height, w = output.Width, n = h * w;
        double cy = Math.Cos(scene.Yaw), sy = Math.Sin(scene.Yaw), cp = Math.Cos(scene.Pitch), sp = Math.Sin(scene.Pitch);
        // Forward f, right r = f × up normalised, up u = r × f.
        double fx = -sy * cp, fy = sp, fz = -cy * cp;
        double rx = cy, ry = 0, rz = -sy;
        double ux = ry * fz - rz * fy, uy = rz * fx - rx * fz, uz = rx * fy - ry * fx;
        double focal = w / 2.0 / Math.Tan(scene.FieldOfView / 2);
        output.Focal = focal;
        var (ox, oy, oz) = scene.Camera;
        var prims = System.Runtime.InteropServices.CollectionsMarshal.AsSpan(scene.Primitives);

        for (int py = 0; py < h; py++)
        for (int px = 0; px < w; px++)
        {
            int i = py * w + px;
            double cx = (px + 0.5 - w / 2.0) / focal, cyy = -(py + 0.5 - h / 2.0) / focal;
            // Not normalised: its component along f is 1, so the hit distance t is the z-depth.
            double dx = rx * cx + ux * cyy + fx, dy = ry * cx + uy * cyy + fy, dz = rz * cx + uz * cyy + fz;

            var hit = IntersectRoom(scene, ox, oy, oz, dx, dy, dz);
            for (int k = 0; k < prims.Length; k++) Intersect(in prims[k], k, ox, oy, oz, dx, dy, dz, ref hit);

            double hx = ox + hit.T * dx, hy = oy + hit.T * dy, hz = oz + hit.T * dz;
            // Face the camera.
            if (hit.Nx * dx + hit.Ny * dy + hit.Nz * dz > 0) { hit.Nx = -hit.Nx; hit.Ny = -hit.Ny; hit.Nz = -hit.Nz; }

            int cls, instance; long part; float r, g, b; Texture texture; double tu, tv;
            if (hit.Primitive >= 0)
            {
                ref readonly var p = ref prims[hit.Primitive];
                cls = p.ClassId; instance = p.InstanceId; r = p.R; g = p.G; b = p.B; texture = p.Texture;
                part = p.Role switch
                {
                    PartRole.Back => SceneParts.Back,
                    PartRole.Leg => SceneParts.Leg,
                    PartRole.Sphere => hy >= p.Cy ? SceneParts.UpperSphere : SceneParts.LowerSphere,
                    _ => hit.Ny > 0.7 ? SceneParts.Top : SceneParts.Side,
                };
                tu = hit.U; tv = hit.V;
            }
            else
            {
                part = SceneParts.Background;
                tu = hit.U; tv = hit.V;
                switch (hit.Surface)
                {
                    case RoomSurface.Floor: cls = SceneClasses.Floor; instance = FloorInstance; (r, g, b) = scene.FloorColour; texture = Texture.Planks; break;
                    case RoomSurface.Ceiling: cls = SceneClasses.Ceiling; instance = CeilingInstance; (r, g, b) = scene.CeilingColour; texture = Texture.Plain; break;
                    default:
                        cls = SceneClasses.Wall; instance = WallInstance; (r, g, b) = scene.WallColour; texture = Texture.Mottled;
                        foreach (var d in scene.Decorations)
                        {
                            if (d.Wall != (int)hit.Surface - (int)RoomSurface.LeftWall || tu < d.U0 || tu > d.U1 || tv < d.V0 || tv > d.V1) continue;
                            cls = d.ClassId; instance = d.InstanceId; r = d.R; g = d.G; b = d.B; texture = d.Texture;
                            tu -= d.U0; tv -= d.V0;
                            break;
                        }
                        break;
                }
            }

            double light = scene.Ambient + (1 - scene.Ambient) * Math.Max(0, hit.Nx * scene.Light.X + hit.Ny * scene.Light.Y + hit.Nz * scene.Light.Z);
            if (texture == Texture.Glass) light = 1.0;
            ApplyTexture(texture, tu, tv, instance, ref r, ref g, ref b);
            float noise = (float)(Hash01(scene.NoiseSeed, (uint)i, 0) - 0.5) * 0.05f;
            output.Image[i] = Math.Clamp((float)(r * light) + noise, 0f, 1f);
            output.Image[n + i] = Math.Clamp((float)(g * light) + noise, 0f, 1f);
            output.Image[2 * n + i] = Math.Clamp((float)(b * light) + noise, 0f, 1f);

            output.Semantic[i] = cls;
            output.Instance[i] = instance;
            output.Parts[i] = part;
            output.Saliency[i] = SceneClasses.IsForeground(cls) ? 1f : 0f;
            if (cls == SceneClasses.Window)
            {
                // Glass: depth sensors return nothing there, so depth and normals are invalid like NYUv2's holes.
                output.Depth[i] = 0f;
                output.Normal[i] = output.Normal[n + i] = output.Normal[2 * n + i] = 0f;
            }
            else
            {
                output.Depth[i] = (float)hit.T;
                output.Normal[i] = (float)(hit.Nx * rx + hit.Ny * ry + hit.Nz * rz);
                output.Normal[n + i] = (float)(hit.Nx * ux + hit.Ny * uy + hit.Nz * uz);
                output.Normal[2 * n + i] = (float)-(hit.Nx * fx + hit.Ny * fy + hit.Nz * fz);
            }
        }

        for (int py = 0; py < h; py++)
        for (int px = 0; px < w; px++)
        {
            int i = py * w + px, id = output.Instance[i];
            bool edge = (px + 1 < w && (output.Instance[i + 1] != id || DepthJump(output.Depth[i], output.Depth[i + 1])))
                     || (py + 1 < h && (output.Instance[i + w] != id || DepthJump(output.Depth[i], output.Depth[i + w])));
            output.Edges[i] = edge ? 1f : 0f;
        }
    }

    /// <summary>Relative depth change between neighbours that counts as an occlusion edge inside one object.</summary>
    public const double DepthEdgeRatio = 0.1;

    private static bool DepthJump(float a, float b) => a > 0 && b > 0 && Math.Abs(a - b) > DepthEdgeRatio * Math.Min(a, b);

    private enum RoomSurface { Floor, Ceiling, LeftWall, RightWall, BackWall, FrontWall }

    private struct Hit
    {
        public double T, Nx, Ny, Nz, U, V;
        public int Primitive;
        public RoomSurface Surface;
    }

    private static Hit IntersectRoom(Scene s, double ox, double oy, double oz, double dx, double dy, double dz)
    {
        var hit = new Hit { T = double.MaxValue, Primitive = -1 };
        if (dy < 0) Consider(ref hit, -oy / dy, 0, 1, 0, RoomSurface.Floor);
        else if (dy > 0) Consider(ref hit, (s.RoomHeight - oy) / dy, 0, -1, 0, RoomSurface.Ceiling);
        if (dx < 0) Consider(ref hit, (-s.RoomHalfWidth - ox) / dx, 1, 0, 0, RoomSurface.LeftWall);
        else if (dx > 0) Consider(ref hit, (s.RoomHalfWidth - ox) / dx, -1, 0, 0, RoomSurface.RightWall);
        if (dz < 0) Consider(ref hit, (-s.RoomDepth - oz) / dz, 0, 0, 1, RoomSurface.BackWall);
        else if (dz > 0) Consider(ref hit, (s.RoomFront - oz) / dz, 0, 0, -1, RoomSurface.FrontWall);
        double hx = ox + hit.T * dx, hy = oy + hit.T * dy, hz = oz + hit.T * dz;
        (hit.U, hit.V) = hit.Surface switch
        {
            RoomSurface.Floor or RoomSurface.Ceiling => (hx, hz),
            RoomSurface.LeftWall or RoomSurface.RightWall => (hz, hy),
            _ => (hx, hy),
        };
        return hit;

        static void Consider(ref Hit hit, double t, double nx, double ny, double nz, RoomSurface surface)
        {
            if (t > 0 && t < hit.T) { hit.T = t; hit.Nx = nx; hit.Ny = ny; hit.Nz = nz; hit.Surface = surface; }
        }
    }

    private static void Intersect(in Primitive p, int index, double ox, double oy, double oz, double dx, double dy, double dz, ref Hit hit)
    {
        // Cheap rejection against the primitive's bounding sphere before the exact test.
        double qx = p.Cx - ox, qy = p.Cy - oy, qz = p.Cz - oz;
        double dd = dx * dx + dy * dy + dz * dz, qd = qx * dx + qy * dy + qz * dz;
        double r = BoundingRadius(in p);
        double miss = qx * qx + qy * qy + qz * qz - qd * qd / dd - r * r;
        if (miss > 0 || (qd - r * Math.Sqrt(dd)) / dd > hit.T) return;
        switch (p.Shape)
        {
            case PrimitiveShape.Box: IntersectBox(in p, index, ox, oy, oz, dx, dy, dz, ref hit); break;
            case PrimitiveShape.Sphere: IntersectSphere(in p, index, ox, oy, oz, dx, dy, dz, ref hit); break;
            default: IntersectCylinder(in p, index, ox, oy, oz, dx, dy, dz, ref hit); break;
        }
    }

    private static double BoundingRadius(in Primitive p) => p.Shape switch
    {
        PrimitiveShape.Box => Math.Sqrt(p.Hx * p.Hx + p.Hy * p.Hy + p.Hz * p.Hz),
        PrimitiveShape.Sphere => p.Radius,
        _ => Math.Sqrt(p.Radius * p.Radius + p.Hy * p.Hy),
    } * 1.0001;

    private static void IntersectBox(in Primitive p, int index, double ox, double oy, double oz, double dx, double dy, double dz, ref Hit hit)
    {
        // Into the box frame: local = R(-yaw)·(world - centre), R(-yaw): (x, z) -> (cos·x - sin·z, sin·x + cos·z).
        double c = p.CosYaw, s = p.SinYaw;
        double qx = ox - p.Cx, qy = oy - p.Cy, qz = oz - p.Cz;
        double lox = c * qx - s * qz, loz = s * qx + c * qz, loy = qy;
        double ldx = c * dx - s * dz, ldz = s * dx + c * dz, ldy = dy;
        double tNear = double.MinValue, tFar = double.MaxValue;
        int axis = -1; double sign = 0;
        if (!Slab(lox, ldx, p.Hx, 0, ref tNear, ref tFar, ref axis, ref sign)) return;
        if (!Slab(loy, ldy, p.Hy, 1, ref tNear, ref tFar, ref axis, ref sign)) return;
        if (!Slab(loz, ldz, p.Hz, 2, ref tNear, ref tFar, ref axis, ref sign)) return;
        if (tNear <= 1e-6 || tNear >= hit.T) return;
        double lnx = axis == 0 ? sign : 0, lny = axis == 1 ? sign : 0, lnz = axis == 2 ? sign : 0;
        hit.T = tNear;
        hit.Primitive = index;
        // Back to world: R(yaw)·n, (x, z) -> (cos·x + sin·z, -sin·x + cos·z).
        hit.Nx = c * lnx + s * lnz; hit.Ny = lny; hit.Nz = -s * lnx + c * lnz;
        double hx = lox + tNear * ldx, hy = loy + tNear * ldy, hz = loz + tNear * ldz;
        (hit.U, hit.V) = axis switch { 0 => (hz, hy), 1 => (hx, hz), _ => (hx, hy) };
    }

    private static bool Slab(double o, double d, double half, int axisIndex, ref double tNear, ref double tFar, ref int axis, ref double sign)
    {
        if (Math.Abs(d) < 1e-12) return o >= -half && o <= half;
        double t1 = (-half - o) / d, t2 = (half - o) / d;
        double entrySign = -1;
        if (t1 > t2) { (t1, t2) = (t2, t1); entrySign = 1; }
        if (t1 > tNear) { tNear = t1; axis = axisIndex; sign = entrySign; }
        if (t2 < tFar) tFar = t2;
        return tNear <= tFar && tFar > 0;
    }

    private static void IntersectSphere(in Primitive p, int index, double ox, double oy, double oz, double dx, double dy, double dz, ref Hit hit)
    {
        double qx = ox - p.Cx, qy = oy - p.Cy, qz = oz - p.Cz;
        double a = dx * dx + dy * dy + dz * dz, b = qx * dx + qy * dy + qz * dz, c = qx * qx + qy * qy + qz * qz - p.Radius * p.Radius;
        double disc = b * b - a * c;
        if (disc < 0) return;
        double t = (-b - Math.Sqrt(disc)) / a;
        if (t <= 1e-6 || t >= hit.T) return;
        hit.T = t;
        hit.Primitive = index;
        double nx = (qx + t * dx) / p.Radius, ny = (qy + t * dy) / p.Radius, nz = (qz + t * dz) / p.Radius;
        hit.Nx = nx; hit.Ny = ny; hit.Nz = nz;
        hit.U = Math.Atan2(nz, nx) * p.Radius; hit.V = ny * p.Radius;
    }

    private static void IntersectCylinder(in Primitive p, int index, double ox, double oy, double oz, double dx, double dy, double dz, ref Hit hit)
    {
        double qx = ox - p.Cx, qy = oy - p.Cy, qz = oz - p.Cz, r2 = p.Radius * p.Radius;
        double a = dx * dx + dz * dz, b = qx * dx + qz * dz, c = qx * qx + qz * qz - r2;
        if (a > 1e-12)
        {
            double disc = b * b - a * c;
            if (disc >= 0)
            {
                double t = (-b - Math.Sqrt(disc)) / a;
                double y = qy + t * dy;
                if (t > 1e-6 && t < hit.T && Math.Abs(y) <= p.Hy)
                {
                    hit.T = t; hit.Primitive = index;
                    hit.Nx = (qx + t * dx) / p.Radius; hit.Ny = 0; hit.Nz = (qz + t * dz) / p.Radius;
                    hit.U = Math.Atan2(hit.Nz, hit.Nx) * p.Radius; hit.V = y;
                }
            }
        }
        if (Math.Abs(dy) > 1e-12)
        {
            for (int capSign = -1; capSign <= 1; capSign += 2)
            {
                double t = (capSign * p.Hy - qy) / dy;
                if (t <= 1e-6 || t >= hit.T) continue;
                double x = qx + t * dx, z = qz + t * dz;
                if (x * x + z * z > r2) continue;
                hit.T = t; hit.Primitive = index;
                hit.Nx = 0; hit.Ny = capSign; hit.Nz = 0;
                hit.U = x; hit.V = z;
            }
        }
    }

    private static void ApplyTexture(Texture texture, double u, double v, int instance, ref float r, ref float g, ref float b)
    {
        switch (texture)
        {
            case Texture.Planks:
            {
                double q = u / 0.2;
                long plank = (long)Math.Floor(q);
                float k = 0.85f + 0.15f * (float)Hash01(7, (uint)plank, 1);
                if (q - plank < 0.06) k *= 0.65f;
                r *= k; g *= k; b *= k;
                break;
            }
            case Texture.Stripes:
            {
                long stripe = (long)Math.Floor(u / 0.035);
                r = 0.15f + 0.8f * (float)Hash01((uint)instance, (uint)stripe, 1);
                g = 0.15f + 0.8f * (float)Hash01((uint)instance, (uint)stripe, 2);
                b = 0.15f + 0.8f * (float)Hash01((uint)instance, (uint)stripe, 3);
                break;
            }
            case Texture.Mottled:
            {
                float k = 0.93f + 0.07f * (float)(Math.Sin(2.7 * u) * Math.Sin(2.1 * v + 0.5 * u));
                r *= k; g *= k; b *= k;
                break;
            }
            case Texture.Checker:
            {
                long cell = (long)Math.Floor(u / 0.12) + (long)Math.Floor(v / 0.12);
                if ((cell & 1) == 0) { r *= 0.78f; g *= 0.78f; b *= 0.78f; }
                break;
            }
            case Texture.Blocks:
            {
                uint cell = (uint)((long)Math.Floor(u / 0.12) * 31 + (long)Math.Floor(v / 0.12));
                r = 0.5f * r + 0.5f * (float)Hash01((uint)instance, cell, 1);
                g = 0.5f * g + 0.5f * (float)Hash01((uint)instance, cell, 2);
                b = 0.5f * b + 0.5f * (float)Hash01((uint)instance, cell, 3);
                break;
            }
            case Texture.Glass:
            {
                float k = 0.8f + 0.2f * (float)Math.Clamp(v, 0, 1.5);
                r = Math.Min(1f, r * k); g = Math.Min(1f, g * k); b = Math.Min(1f, b * k);
                break;
            }
            case Texture.Bands:
                if (((long)Math.Floor(v / 0.08) & 1) == 0) { r *= 0.85f; g *= 0.85f; b *= 0.9f; }
                break;
        }
    }

    // A stateless hash to [0,1): per-pixel noise and per-stripe colours without allocating or carrying a generator.
    private static double Hash01(ulong seed, uint a, uint b)
    {
        ulong z = seed ^ ((ulong)a << 32 | b);
        z += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        z ^= z >> 31;
        return (z >> 11) * (1.0 / (1UL << 53));
    }
}
