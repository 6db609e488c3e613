namespace Astmt.Models.Synthetic;

/// <summary>
/// The 13 semantic classes of the synthetic scenes, numbered like NYUv2's 13-class labelling so models and metrics configured
/// for NYUv2 apply unchanged.
/// </summary>
public static class SceneClasses
{
    /// <summary>Number of classes.</summary>
    public const int Count = 13;

    /// <summary>Bed (a large low box).</summary>
    public const int Bed = 0;
    /// <summary>Books (small striped boxes on furniture and tables).</summary>
    public const int Books = 1;
    /// <summary>Ceiling.</summary>
    public const int Ceiling = 2;
    /// <summary>Chair (seat, back and legs).</summary>
    public const int Chair = 3;
    /// <summary>Floor.</summary>
    public const int Floor = 4;
    /// <summary>Furniture (cabinets).</summary>
    public const int Furniture = 5;
    /// <summary>Objects (spheres and cylinders).</summary>
    public const int Objects = 6;
    /// <summary>Painting (rectangle on a wall).</summary>
    public const int Painting = 7;
    /// <summary>Sofa (base, back and arms).</summary>
    public const int Sofa = 8;
    /// <summary>Table (top and legs).</summary>
    public const int Table = 9;
    /// <summary>TV (thin dark box).</summary>
    public const int Tv = 10;
    /// <summary>Wall.</summary>
    public const int Wall = 11;
    /// <summary>Window (rectangle on a wall; glass, so depth and normals are invalid there).</summary>
    public const int Window = 12;

    /// <summary>Class names in id order.</summary>
    public static IReadOnlyList<string> Names { get; } =
        ["bed", "books", "ceiling", "chair", "floor", "furniture", "objects", "painting", "sofa", "table", "tv", "wall", "window"];

    /// <summary>Number of part classes: background plus six parts.</summary>
    public const int PartCount = 7;

    /// <summary>True for the classes that are salient foreground (movable objects, not the room or its wall decorations).</summary>
    public static bool IsForeground(int classId) => classId is not (Ceiling or Floor or Wall or Painting or Window);
}

/// <summary>Part labels of foreground objects (0 is background).</summary>
public static class SceneParts
{
    /// <summary>Not an object.</summary>
    public const int Background = 0;
    /// <summary>Up-facing surfaces of bodies (box tops, cylinder caps).</summary>
    public const int Top = 1;
    /// <summary>Side surfaces of bodies.</summary>
    public const int Side = 2;
    /// <summary>Backs and arms of chairs and sofas.</summary>
    public const int Back = 3;
    /// <summary>Legs of tables and chairs.</summary>
    public const int Leg = 4;
    /// <summary>Upper hemisphere of a sphere.</summary>
    public const int UpperSphere = 5;
    /// <summary>Lower hemisphere of a sphere.</summary>
    public const int LowerSphere = 6;
}
