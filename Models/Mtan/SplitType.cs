namespace Astmt.Models.Mtan;

/// <summary>Variants of the hard-sharing Split baseline (<c>model_segnet_split.py --type</c>).</summary>
public enum SplitType
{
    /// <summary>Filters [64,128,256,512,512]: 25,055,188 parameters on NYUv2.</summary>
    Standard,
    /// <summary>Filters [64,128,256,512,1024]: 43,934,164.</summary>
    Wide,
    /// <summary>Every conv layer doubled (conv3+BN+ReLU twice): 50,807,764.</summary>
    Deep,
}
