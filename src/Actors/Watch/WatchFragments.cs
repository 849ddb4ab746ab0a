using Etcdserverpb;
using Google.Protobuf;

namespace Akka.Etcd.Actors.Watch;

/// <summary>Splits a large watch response like etcd's <c>v3rpc.sendFragments</c>.</summary>
internal static class WatchFragments
{
    /// <summary>
    /// Cuts <paramref name="response"/> into responses under <paramref name="maxBytes"/> each (a single event
    /// larger than that still goes alone), all but the last with <c>fragment=true</c>. Events stay in order.
    /// </summary>
    public static List<WatchResponse> Split(WatchResponse response, int maxBytes)
    {
        var shell = response.Clone();
        shell.Events.Clear();
        shell.Fragment = true;
        var shellSize = shell.CalculateSize();
        var fragments = new List<WatchResponse>();
        var events = response.Events;
        var next = 0;
        while (next < events.Count)
        {
            var fragment = shell.Clone();
            long size = shellSize;
            while (next < events.Count)
            {
                var eventSize = 1 + CodedOutputStream.ComputeMessageSize(events[next]); // tag of field 11 + length-prefixed event
                if (fragment.Events.Count > 0 && size + eventSize >= maxBytes)
                {
                    break;
                }
                fragment.Events.Add(events[next]);
                size += eventSize;
                next++;
            }
            fragment.Fragment = next < events.Count;
            fragments.Add(fragment);
        }
        return fragments;
    }
}
