namespace Astmt.Models.Synthetic;

/// <summary>Shape of a primitive.</summary>
public enum PrimitiveShape
{
    /// <summary>A box rotated about the vertical axis.</summary>
    Box,
    /// <summary>A sphere.</summary>
    Sphere,
    /// <summary>A vertical cylinder with caps.</summary>
    Cylinder,
}

/// <summary>Which part label a primitive's surface gets.</summary>
public enum PartRole
{
    /// <summary>Top if the surface faces up, side otherwise.</summary>
    Body,
    /// <summary>Always <see cref="SceneParts.Back"/>.</summary>
    Back,
    /// <summary>Always <see cref="SceneParts.Leg"/>.</summary>
    Leg,
    /// <summary>Upper or lower hemisphere.</summary>
    Sphere,
}

/// <summary>Surface pattern; each class uses a fixed pattern so appearance predicts the class.</summary>
public enum Texture
{
    /// <summary>Plain colour.</summary>
    Plain,
    /// <summary>Planks along one axis (floor).</summary>
    Planks,
    /// <summary>Narrow vertical stripes of varied shade (books).</summary>
    Stripes,
    /// <summary>Soft large-scale mottling (walls).</summary>
    Mottled,
    /// <summary>Checkerboard (sofa fabric).</summary>
    Checker,
    /// <summary>Coloured blocks (paintings).</summary>
    Blocks,
    /// <summary>Bright gradient (windows).</summary>
    Glass,
    /// <summary>Horizontal bands (beds).</summary>
    Bands,
}

/// <summary>
/// One solid of a scene in world coordinates (metres; y up, floor at y = 0). Boxes are centred at (Cx, Cy, Cz) with half
/// extents (Hx, Hy, Hz) and a yaw about y; spheres use Radius; cylinders span [Cy - Hy, Cy + Hy] vertically with Radius.
/// </summary>
public struct Primitive
{
    /// <summary>Shape.</summary>
    public PrimitiveShape Shape;
    /// <summary>Centre.</summary>
    public double Cx, Cy, Cz;
    /// <summary>Half extents (boxes; Hy also for cylinders).</summary>
    public double Hx, Hy, Hz;
    /// <summary>Radius (spheres, cylinders).</summary>
    public double Radius;
    /// <summary>Cosine and sine of the yaw (boxes).</summary>
    public double CosYaw, SinYaw;
    /// <summary>Semantic class.</summary>
    public int ClassId;
    /// <summary>Object instance id (shared by the primitives of one object; 0 is reserved).</summary>
    public int InstanceId;
    /// <summary>Part role.</summary>
    public PartRole Role;
    /// <summary>Base colour, linear RGB in [0,1].</summary>
    public float R, G, B;
    /// <summary>Surface pattern.</summary>
    public Texture Texture;
}
