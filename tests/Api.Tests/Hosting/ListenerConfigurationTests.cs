using Akka.Etcd.Api.Hosting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Configuration.Json;
using Microsoft.Extensions.Logging.Abstractions;

namespace Akka.Etcd.Api.Tests.Hosting;

/// <summary>What a member's listener host reads from its working directory.</summary>
public class ListenerConfigurationTests
{
    [Fact]
    public void A_listener_host_never_watches_its_working_directory_for_configuration_changes()
    {
        // The default data dir (default.etcd) lies under the working directory: a reload-on-change JSON source there
        // would wake a file watcher thread on every WAL and backend write.
        var builder = EtcdWebHost.CreateBuilder(NullLoggerFactory.Instance);

        var sources = ((IConfigurationBuilder)builder.Configuration).Sources.OfType<JsonConfigurationSource>().ToList();
        Assert.NotEmpty(sources);
        Assert.All(sources, source => Assert.False(source.ReloadOnChange, $"{source.Path} is reloaded on change"));
    }
}
