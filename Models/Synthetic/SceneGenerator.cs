using Astmt.Models.Data;

namespace Astmt.Models.Synthetic;

/// <summary>
/// Generates the room for (seed, index): room size, wall decorations, 4–9 pieces of furniture placed on the floor (some with
/// books, a TV or objects on top), camera and light. Everything is drawn from one <see cref="DeterministicRandom"/> stream,
/// so a scene depends only on its seed and index.
/// </summary>
public static class SceneGenerator
{
    private const ulong ScenePurpose = 0x5343_454E;

    /// <summary>The scene of sample <paramref name="index"/> of the stream <paramref name="seed"/>.</summary>
    public static Scene Generate(ulong seed, int index)
    {
        var rng = DeterministicRandom.Derive(seed, (ulong)index, 0, ScenePurpose);
        double hw = rng.Uniform(2.0, 3.4), depth = rng.Uniform(4.5, 7.5), height = rng.Uniform(2.5, 3.2);
        var lx = rng.Uniform(-0.6, 0.6); var lz = rng.Uniform(0.1, 0.9);
        double ln = Math.Sqrt(lx * lx + 1 + lz * lz);
        var scene = new Scene
        {
            RoomHalfWidth = hw, RoomDepth = depth, RoomHeight = height, RoomFront = 1.5,
            FloorColour = Jitter(ref rng, 0.55f, 0.40f, 0.28f),
            WallColour = Jitter(ref rng, 0.80f, 0.78f, 0.70f),
            CeilingColour = Jitter(ref rng, 0.92f, 0.92f, 0.90f, 0.03f),
            Camera = (rng.Uniform(-0.5, 0.5) * hw, rng.Uniform(1.1, 1.7), rng.Uniform(0.3, 1.0)),
            Yaw = rng.Uniform(-0.35, 0.35),
            Pitch = rng.Uniform(-0.40, -0.10),
            FieldOfView = rng.Uniform(53, 63) * Math.PI / 180,
            Light = (lx / ln, 1 / ln, lz / ln),
            Ambient = rng.Uniform(0.35, 0.5),
            NoiseSeed = rng.NextUInt64(),
        };
        int nextInstance = 10;
        AddDecorations(scene, ref rng, ref nextInstance);

        int objects = rng.NextInclusive(4, 9);
        var footprints = new List<(double X, double Z, double R)>();
        for (int k = 0; k < objects; k++)
        {
            double u = rng.NextDouble();
            if (u < 0.10) AddBed(scene, ref rng, footprints, nextInstance++);
            else if (u < 0.25) AddChair(scene, ref rng, footprints, nextInstance++);
            else if (u < 0.42) AddFurniture(scene, ref rng, footprints, ref nextInstance);
            else if (u < 0.52) AddSofa(scene, ref rng, footprints, nextInstance++);
            else if (u < 0.70) AddTable(scene, ref rng, footprints, ref nextInstance);
            else if (u < 0.76) AddWallTv(scene, ref rng, nextInstance++);
            else AddFloorObject(scene, ref rng, footprints, nextInstance++);
        }
        return scene;
    }

    private static void AddDecorations(Scene scene, ref DeterministicRandom rng, ref int nextInstance)
    {
        int count = rng.NextInclusive(1, 4);
        var used = new List<(int Wall, double U0, double U1)>();
        for (int k = 0; k < count; k++)
        {
            bool window = rng.NextDouble() < 0.45;
            int wall = rng.NextInt(3);
            double span = wall == 2 ? scene.RoomHalfWidth : scene.RoomDepth / 2;
            double centre = wall == 2 ? 0 : -scene.RoomDepth / 2;
            double halfW = window ? rng.Uniform(0.4, 0.8) : rng.Uniform(0.25, 0.6);
            double uc = centre + rng.Uniform(-span + halfW + 0.2, span - halfW - 0.2);
            if (used.Any(x => x.Wall == wall && uc + halfW > x.U0 && uc - halfW < x.U1)) continue;
            used.Add((wall, uc - halfW, uc + halfW));
            double v0 = window ? rng.Uniform(0.8, 1.1) : rng.Uniform(1.2, 1.5);
            double v1 = v0 + (window ? rng.Uniform(0.9, 1.3) : rng.Uniform(0.35, 0.7));
            var c = window ? Jitter(ref rng, 0.70f, 0.85f, 1.0f, 0.04f) : ((float)rng.Uniform(0.2, 0.9), (float)rng.Uniform(0.2, 0.9), (float)rng.Uniform(0.2, 0.9));
            scene.Decorations.Add(new WallDecoration(wall, uc - halfW, uc + halfW, v0, Math.Min(v1, scene.RoomHeight - 0.2),
                window ? SceneClasses.Window : SceneClasses.Painting, nextInstance++, c.Item1, c.Item2, c.Item3,
                window ? Texture.Glass : Texture.Blocks));
        }
    }

    private static bool Place(Scene scene, ref DeterministicRandom rng, List<(double X, double Z, double R)> footprints, double radius,
        bool againstWall, out double x, out double z, out double yaw)
    {
        double hw = scene.RoomHalfWidth, d = scene.RoomDepth;
        for (int attempt = 0; attempt < 12; attempt++)
        {
            if (againstWall && rng.NextDouble() < 0.7)
            {
                int wall = rng.NextInt(3);
                if (wall == 2) { x = rng.Uniform(-hw + radius, hw - radius); z = -d + radius * 0.75; yaw = 0; }
                else
                {
                    x = wall == 0 ? -hw + radius * 0.75 : hw - radius * 0.75;
                    z = rng.Uniform(-d + radius, -1.2);
                    yaw = wall == 0 ? -Math.PI / 2 : Math.PI / 2;
                }
            }
            else
            {
                x = rng.Uniform(-hw + radius, hw - radius);
                z = rng.Uniform(-d + radius, -1.2);
                yaw = rng.Uniform(-Math.PI, Math.PI);
            }
            double px = x, pz = z;
            if (footprints.All(f => (f.X - px) * (f.X - px) + (f.Z - pz) * (f.Z - pz) > (f.R + radius) * (f.R + radius) * 0.6))
            {
                footprints.Add((x, z, radius));
                return true;
            }
        }
        x = z = yaw = 0;
        return false;
    }

    private static void AddBed(Scene s, ref DeterministicRandom rng, List<(double, double, double)> fp, int id)
    {
        double w = rng.Uniform(0.7, 0.95), l = rng.Uniform(0.95, 1.1), h = rng.Uniform(0.22, 0.3);
        if (!Place(s, ref rng, fp, Math.Max(w, l), true, out double x, out double z, out double yaw)) return;
        var c = Jitter(ref rng, 0.85f, 0.82f, 0.75f);
        AddBox(s, x, z, yaw, 0, h, 0, w, h, l, SceneClasses.Bed, id, PartRole.Body, c, Texture.Bands);
        AddBox(s, x, z, yaw, 0, 0.5, -l + 0.04, w, 0.5, 0.04, SceneClasses.Bed, id, PartRole.Back, Scale(c, 0.7f), Texture.Plain);
    }

    private static void AddChair(Scene s, ref DeterministicRandom rng, List<(double, double, double)> fp, int id)
    {
        double w = rng.Uniform(0.2, 0.26), seat = rng.Uniform(0.42, 0.5);
        if (!Place(s, ref rng, fp, w * 1.5, false, out double x, out double z, out double yaw)) return;
        var c = Jitter(ref rng, 0.55f, 0.33f, 0.18f);
        AddBox(s, x, z, yaw, 0, seat, 0, w, 0.025, w, SceneClasses.Chair, id, PartRole.Body, c, Texture.Plain);
        AddBox(s, x, z, yaw, 0, seat + 0.27, -w + 0.02, w, 0.25, 0.02, SceneClasses.Chair, id, PartRole.Back, c, Texture.Plain);
        AddLegs(s, x, z, yaw, w, w, seat - 0.025, SceneClasses.Chair, id, Scale(c, 0.8f));
    }

    private static void AddFurniture(Scene s, ref DeterministicRandom rng, List<(double, double, double)> fp, ref int next)
    {
        double w = rng.Uniform(0.3, 0.7), h = rng.Uniform(0.35, 0.95), d = rng.Uniform(0.2, 0.3);
        if (!Place(s, ref rng, fp, w, true, out double x, out double z, out double yaw)) return;
        AddBox(s, x, z, yaw, 0, h, 0, w, h, d, SceneClasses.Furniture, next++, PartRole.Body, Jitter(ref rng, 0.72f, 0.60f, 0.45f), Texture.Plain);
        double top = 2 * h;
        double r = rng.NextDouble();
        if (r < 0.35 && top < 1.3)
            AddBox(s, x, z, yaw, 0, top + 0.28, 0, Math.Min(w - 0.02, rng.Uniform(0.3, 0.5)), 0.28, 0.03, SceneClasses.Tv, next++, PartRole.Body, Jitter(ref rng, 0.08f, 0.08f, 0.10f, 0.02f), Texture.Plain);
        else if (r < 0.75)
            AddBooks(s, ref rng, x, z, yaw, top, w, d, next++);
    }

    private static void AddBooks(Scene s, ref DeterministicRandom rng, double x, double z, double yaw, double top, double w, double d, int id)
    {
        double bw = Math.Min(w * 0.8, rng.Uniform(0.12, 0.3)), bh = rng.Uniform(0.09, 0.13);
        double off = rng.Uniform(-(w - bw), w - bw);
        AddBox(s, x, z, yaw, off, top + bh, 0, bw, bh, Math.Min(d, 0.1), SceneClasses.Books, id, PartRole.Body, Jitter(ref rng, 0.6f, 0.45f, 0.4f, 0.15f), Texture.Stripes);
    }

    private static void AddSofa(Scene s, ref DeterministicRandom rng, List<(double, double, double)> fp, int id)
    {
        double w = rng.Uniform(0.75, 1.0), d = rng.Uniform(0.4, 0.48);
        if (!Place(s, ref rng, fp, w, true, out double x, out double z, out double yaw)) return;
        var c = Jitter(ref rng, 0.30f, 0.45f, 0.36f);
        AddBox(s, x, z, yaw, 0, 0.22, 0, w, 0.22, d, SceneClasses.Sofa, id, PartRole.Body, c, Texture.Checker);
        AddBox(s, x, z, yaw, 0, 0.6, -d + 0.1, w, 0.2, 0.1, SceneClasses.Sofa, id, PartRole.Back, c, Texture.Checker);
        AddBox(s, x, z, yaw, -w + 0.1, 0.55, 0, 0.1, 0.11, d, SceneClasses.Sofa, id, PartRole.Back, c, Texture.Checker);
        AddBox(s, x, z, yaw, w - 0.1, 0.55, 0, 0.1, 0.11, d, SceneClasses.Sofa, id, PartRole.Back, c, Texture.Checker);
    }

    private static void AddTable(Scene s, ref DeterministicRandom rng, List<(double, double, double)> fp, ref int next)
    {
        double w = rng.Uniform(0.4, 0.8), d = rng.Uniform(0.3, 0.5), h = rng.Uniform(0.68, 0.78);
        if (!Place(s, ref rng, fp, w, false, out double x, out double z, out double yaw)) return;
        var c = Jitter(ref rng, 0.50f, 0.32f, 0.15f);
        int id = next++;
        AddBox(s, x, z, yaw, 0, h, 0, w, 0.025, d, SceneClasses.Table, id, PartRole.Body, c, Texture.Plain);
        AddLegs(s, x, z, yaw, w, d, h - 0.025, SceneClasses.Table, id, Scale(c, 0.8f));
        if (rng.NextDouble() < 0.5)
        {
            double r = rng.Uniform(0.06, 0.14);
            double ox = rng.Uniform(-w + r, w - r), oz = rng.Uniform(-d + r, d - r);
            World(x, z, yaw, ox, oz, out double wx, out double wz);
            s.Primitives.Add(MakeSphere(wx, h + 0.025 + r, wz, r, next++, Jitter(ref rng, 0.80f, 0.20f, 0.20f)));
        }
        if (rng.NextDouble() < 0.4) AddBooks(s, ref rng, x, z, yaw, h + 0.025, w, d, next++);
    }

    private static void AddWallTv(Scene s, ref DeterministicRandom rng, int id)
    {
        double w = rng.Uniform(0.35, 0.55), h = w * 0.58, y = rng.Uniform(1.3, 1.7);
        double x = rng.Uniform(-s.RoomHalfWidth + w + 0.1, s.RoomHalfWidth - w - 0.1);
        AddBox(s, x, -s.RoomDepth + 0.04, 0, 0, y, 0, w, h, 0.04, SceneClasses.Tv, id, PartRole.Body, Jitter(ref rng, 0.08f, 0.08f, 0.10f, 0.02f), Texture.Plain);
    }

    private static void AddFloorObject(Scene s, ref DeterministicRandom rng, List<(double, double, double)> fp, int id)
    {
        bool sphere = rng.NextDouble() < 0.5;
        double r = sphere ? rng.Uniform(0.12, 0.35) : rng.Uniform(0.1, 0.25);
        if (!Place(s, ref rng, fp, r, false, out double x, out double z, out _)) return;
        if (sphere) { s.Primitives.Add(MakeSphere(x, r, z, r, id, Jitter(ref rng, 0.80f, 0.20f, 0.20f))); return; }
        double hh = rng.Uniform(0.1, 0.45);
        var c = Jitter(ref rng, 0.20f, 0.50f, 0.80f);
        s.Primitives.Add(new Primitive
        {
            Shape = PrimitiveShape.Cylinder, Cx = x, Cy = hh, Cz = z, Hy = hh, Radius = r, CosYaw = 1,
            ClassId = SceneClasses.Objects, InstanceId = id, Role = PartRole.Body, R = c.R, G = c.G, B = c.B, Texture = Texture.Plain,
        });
    }

    private static Primitive MakeSphere(double x, double y, double z, double r, int id, (float R, float G, float B) c) => new()
    {
        Shape = PrimitiveShape.Sphere, Cx = x, Cy = y, Cz = z, Radius = r, CosYaw = 1,
        ClassId = SceneClasses.Objects, InstanceId = id, Role = PartRole.Sphere, R = c.R, G = c.G, B = c.B, Texture = Texture.Plain,
    };

    private static void AddLegs(Scene s, double x, double z, double yaw, double hx, double hz, double top, int cls, int id, (float R, float G, float B) c)
    {
        const double leg = 0.025;
        for (int sx = -1; sx <= 1; sx += 2)
        for (int sz = -1; sz <= 1; sz += 2)
            AddBox(s, x, z, yaw, sx * (hx - leg), top / 2, sz * (hz - leg), leg, top / 2, leg, cls, id, PartRole.Leg, c, Texture.Plain);
    }

    // Adds a box whose centre is (ox, y, oz) in the object's frame at (x, z) turned by yaw.
    private static void AddBox(Scene s, double x, double z, double yaw, double ox, double y, double oz, double hx, double hy, double hz,
        int cls, int id, PartRole role, (float R, float G, float B) c, Texture texture)
    {
        World(x, z, yaw, ox, oz, out double wx, out double wz);
        s.Primitives.Add(new Primitive
        {
            Shape = PrimitiveShape.Box, Cx = wx, Cy = y, Cz = wz, Hx = hx, Hy = hy, Hz = hz, CosYaw = Math.Cos(yaw), SinYaw = Math.Sin(yaw),
            ClassId = cls, InstanceId = id, Role = role, R = c.R, G = c.G, B = c.B, Texture = texture,
        });
    }

    // world = centre + R(yaw)·local, with R(yaw) the rotation about y: (x, z) -> (cos·x + sin·z, -sin·x + cos·z).
    private static void World(double x, double z, double yaw, double ox, double oz, out double wx, out double wz)
    {
        double c = Math.Cos(yaw), s = Math.Sin(yaw);
        wx = x + c * ox + s * oz;
        wz = z - s * ox + c * oz;
    }

    private static (float R, float G, float B) Jitter(ref DeterministicRandom rng, float r, float g, float b, float amount = 0.07f)
    {
        float shade = (float)rng.Uniform(-amount, amount);
        return (Math.Clamp(r + shade + (float)rng.Uniform(-0.02, 0.02), 0, 1), Math.Clamp(g + shade + (float)rng.Uniform(-0.02, 0.02), 0, 1),
            Math.Clamp(b + shade + (float)rng.Uniform(-0.02, 0.02), 0, 1));
    }

    private static (float R, float G, float B) Scale((float R, float G, float B) c, float k) => (c.R * k, c.G * k, c.B * k);
}
