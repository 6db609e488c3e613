namespace Astmt.Models.Mtan;

/// <summary>How a network's conv weights are initialised (spec §1.2 and pitfall 8).</summary>
public enum ConvInit
{
    /// <summary>xavier_normal_ (MTAN, single, STAN, split).</summary>
    XavierNormal,
    /// <summary>xavier_uniform_ (Dense and Cross-stitch).</summary>
    XavierUniform,
}
