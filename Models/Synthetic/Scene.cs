namespace Astmt.Models.Synthetic;

/// <summary>A flat rectangle on a wall (painting or window): wall 0 is x = -W/2, 1 is x = +W/2, 2 is z = -D.</summary>
public readonly record struct WallDecoration(int Wall, double U0, double U1, double V0, double V1, int ClassId, int InstanceId,
    float R, float G, float B, Texture Texture);

/// <summary>
/// One procedurally generated room: a box-shaped room (floor y = 0, ceiling y = <see cref="RoomHeight"/>, side walls at
/// x = ±<see cref="RoomHalfWidth"/>, back wall z = -<see cref="RoomDepth"/>, front wall z = <see cref="RoomFront"/>), wall
/// decorations, furniture built from primitives, a pinhole camera and a directional light.
/// </summary>
public sealed class Scene
{
    /// <summary>Ceiling height.</summary>
    public double RoomHeight { get; init; }
    /// <summary>Half the room width.</summary>
    public double RoomHalfWidth { get; init; }
    /// <summary>Distance of the back wall from the origin.</summary>
    public double RoomDepth { get; init; }
    /// <summary>Position of the front wall (behind the camera).</summary>
    public double RoomFront { get; init; }
    /// <summary>Floor colour.</summary>
    public (float R, float G, float B) FloorColour { get; init; }
    /// <summary>Wall colour.</summary>
    public (float R, float G, float B) WallColour { get; init; }
    /// <summary>Ceiling colour.</summary>
    public (float R, float G, float B) CeilingColour { get; init; }
    /// <summary>Wall decorations.</summary>
    public List<WallDecoration> Decorations { get; } = [];
    /// <summary>Furniture primitives.</summary>
    public List<Primitive> Primitives { get; } = [];
    /// <summary>Camera position.</summary>
    public (double X, double Y, double Z) Camera { get; init; }
    /// <summary>Camera yaw in radians (positive turns left).</summary>
    public double Yaw { get; init; }
    /// <summary>Camera pitch in radians (positive looks up).</summary>
    public double Pitch { get; init; }
    /// <summary>Horizontal field of view in radians.</summary>
    public double FieldOfView { get; init; }
    /// <summary>Unit direction towards the light, world frame.</summary>
    public (double X, double Y, double Z) Light { get; init; }
    /// <summary>Ambient light level.</summary>
    public double Ambient { get; init; }
    /// <summary>Seed of the per-pixel sensor noise.</summary>
    public ulong NoiseSeed { get; init; }
}
