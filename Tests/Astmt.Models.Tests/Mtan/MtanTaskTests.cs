using Astmt.Models.Data;
using Astmt.Models.Data.Datasets;
using Astmt.Models.Mtan;
using NUnit.Framework;

namespace Astmt.Models.Tests.Mtan;

public class MtanTaskTests
{
    [Test]
    public void NetworkTasksLineUpWithTheNyuV2DatasetTasks()
    {
        var network = MtanTasks.For(MtanDataset.NyuV2);
        var data = NyuV2Dataset.Tasks;
        Assert.That(network.Select(t => MtanTasks.Spec(t, MtanTasks.ClassCount(MtanDataset.NyuV2))), Is.EqualTo(data));
        Assert.That(data.Select(s => MtanTasks.FromKind(s.Kind)), Is.EqualTo(network));
        Assert.That(network.Select(MtanTasks.Name), Is.EqualTo(data.Select(s => s.Name)));
    }

    [Test]
    public void CityScapesHasSevenClassesAndTwoTasks()
    {
        Assert.That(MtanTasks.For(MtanDataset.CityScapes), Is.EqualTo(new[] { MtanTask.Semantic, MtanTask.Depth }));
        Assert.That(MtanTasks.ClassCount(MtanDataset.CityScapes), Is.EqualTo(7));
        Assert.That(CityscapesDataset.TasksFor(7), Is.EqualTo(MtanTasks.For(MtanDataset.CityScapes).Select(t => MtanTasks.Spec(t, 7))));
    }

    [Test]
    public void ParsingRejectsUnknownNamesClearly()
    {
        Assert.That(MtanTasks.Parse("Normals"), Is.EqualTo(MtanTask.Normal));
        Assert.That(MtanTasks.ParseDataset("cityscapes"), Is.EqualTo(MtanDataset.CityScapes));
        Assert.That(() => MtanTasks.Parse("edges"), Throws.ArgumentException.With.Message.Contains("semantic, depth or normal"));
        Assert.That(() => MtanTasks.FromKind(TaskKind.Saliency), Throws.ArgumentException.With.Message.Contains("Saliency"));
    }
}
