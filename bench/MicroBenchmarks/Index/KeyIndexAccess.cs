using System.Reflection;
using System.Reflection.Emit;
using Akka.Etcd.Storage.Mvcc;

namespace Akka.Etcd.MicroBenchmarks.Index;

/// <summary>
/// Calls into the internal key index (src/Storage/Mvcc/Index: KeyIndex, KeyEntry, IndexedRevision) from this assembly,
/// which is not a friend of Akka.Etcd.Storage. Each operation is one <see cref="DynamicMethod"/> compiled with visibility
/// checks skipped, so a call costs one delegate invocation (about 1-2 ns) on top of the index's own work; the index is
/// passed around as <see cref="object"/>. Fails fast with <see cref="MissingMemberException"/> at construction when
/// the index's shape changed. Thread-safe (stateless after construction); the index itself is not.
/// </summary>
public sealed class KeyIndexAccess
{
    private readonly Type _indexType;

    /// <summary>Binds to the index types of the loaded Akka.Etcd.Storage assembly and compiles the operations.</summary>
    public KeyIndexAccess()
    {
        var storage = typeof(MvccStore).Assembly;
        _indexType = storage.GetType("Akka.Etcd.Storage.Mvcc.Index.KeyIndex", throwOnError: true)!;
        var entryType = storage.GetType("Akka.Etcd.Storage.Mvcc.Index.KeyEntry", throwOnError: true)!;
        var revisionType = storage.GetType("Akka.Etcd.Storage.Mvcc.Index.IndexedRevision", throwOnError: true)!;
        var rangeType = Method(_indexType, "Range").ReturnType;
        var getEnumerator = Method(rangeType, "GetEnumerator");
        var enumeratorType = getEnumerator.ReturnType;
        var getOrAdd = Method(_indexType, "GetOrAdd");
        var find = Method(_indexType, "Find");
        var tryGetVisible = Method(entryType, "TryGetVisible");

        Put = Compile<PutOperation>("Put", typeof(void), [typeof(object), typeof(ReadOnlySpan<byte>), typeof(long)], il =>
        {
            // entry = index.GetOrAdd(key); entry.AddPut(main, 0, entry.CreatedMain != 0 ? entry.CreatedMain : main, entry.Version + 1)
            var entry = il.DeclareLocal(entryType);
            var haveCreated = il.DefineLabel();
            il.Emit(OpCodes.Ldarg_0);
            il.Emit(OpCodes.Castclass, _indexType);
            il.Emit(OpCodes.Ldarg_1);
            il.Emit(OpCodes.Callvirt, getOrAdd);
            il.Emit(OpCodes.Stloc, entry);
            il.Emit(OpCodes.Ldloc, entry);
            il.Emit(OpCodes.Ldarg_2);
            il.Emit(OpCodes.Ldc_I4_0);
            il.Emit(OpCodes.Ldloc, entry);
            il.Emit(OpCodes.Callvirt, Method(entryType, "get_CreatedMain"));
            il.Emit(OpCodes.Dup);
            il.Emit(OpCodes.Brtrue, haveCreated);
            il.Emit(OpCodes.Pop);
            il.Emit(OpCodes.Ldarg_2);
            il.MarkLabel(haveCreated);
            il.Emit(OpCodes.Ldloc, entry);
            il.Emit(OpCodes.Callvirt, Method(entryType, "get_Version"));
            il.Emit(OpCodes.Ldc_I4_1);
            il.Emit(OpCodes.Conv_I8);
            il.Emit(OpCodes.Add);
            il.Emit(OpCodes.Callvirt, Method(entryType, "AddPut"));
            il.Emit(OpCodes.Ret);
        });

        Get = Compile<GetOperation>("Get", typeof(bool), [typeof(object), typeof(ReadOnlySpan<byte>), typeof(long)], il =>
        {
            // entry = index.Find(key); return entry != null && entry.TryGetVisible(atRevision, out _)
            var entry = il.DeclareLocal(entryType);
            var revision = il.DeclareLocal(revisionType);
            var missing = il.DefineLabel();
            il.Emit(OpCodes.Ldarg_0);
            il.Emit(OpCodes.Castclass, _indexType);
            il.Emit(OpCodes.Ldarg_1);
            il.Emit(OpCodes.Callvirt, find);
            il.Emit(OpCodes.Stloc, entry);
            il.Emit(OpCodes.Ldloc, entry);
            il.Emit(OpCodes.Brfalse, missing);
            il.Emit(OpCodes.Ldloc, entry);
            il.Emit(OpCodes.Ldarg_2);
            il.Emit(OpCodes.Ldloca, revision);
            il.Emit(OpCodes.Callvirt, tryGetVisible);
            il.Emit(OpCodes.Ret);
            il.MarkLabel(missing);
            il.Emit(OpCodes.Ldc_I4_0);
            il.Emit(OpCodes.Ret);
        });

        CountVisible = Compile<RangeOperation>("CountVisible", typeof(int), [typeof(object), typeof(byte[]), typeof(byte[]), typeof(long)], il =>
        {
            // count = 0; foreach (var entry in index.Range(key, end)) if (entry.TryGetVisible(atRevision, out _)) count++;
            var range = il.DeclareLocal(rangeType);
            var enumerator = il.DeclareLocal(enumeratorType);
            var revision = il.DeclareLocal(revisionType);
            var count = il.DeclareLocal(typeof(int));
            var loop = il.DefineLabel();
            var next = il.DefineLabel();
            il.Emit(OpCodes.Ldarg_0);
            il.Emit(OpCodes.Castclass, _indexType);
            il.Emit(OpCodes.Ldarg_1);
            il.Emit(OpCodes.Ldarg_2);
            il.Emit(OpCodes.Callvirt, Method(_indexType, "Range"));
            il.Emit(OpCodes.Stloc, range);
            il.Emit(OpCodes.Ldloca, range);
            il.Emit(OpCodes.Call, getEnumerator);
            il.Emit(OpCodes.Stloc, enumerator);
            il.Emit(OpCodes.Ldc_I4_0);
            il.Emit(OpCodes.Stloc, count);
            il.Emit(OpCodes.Br, next);
            il.MarkLabel(loop);
            il.Emit(OpCodes.Ldloca, enumerator);
            il.Emit(OpCodes.Call, Method(enumeratorType, "get_Current"));
            il.Emit(OpCodes.Ldarg_3);
            il.Emit(OpCodes.Ldloca, revision);
            il.Emit(OpCodes.Callvirt, tryGetVisible);
            il.Emit(OpCodes.Brfalse, next);
            il.Emit(OpCodes.Ldloc, count);
            il.Emit(OpCodes.Ldc_I4_1);
            il.Emit(OpCodes.Add);
            il.Emit(OpCodes.Stloc, count);
            il.MarkLabel(next);
            il.Emit(OpCodes.Ldloca, enumerator);
            il.Emit(OpCodes.Call, Method(enumeratorType, "MoveNext"));
            il.Emit(OpCodes.Brtrue, loop);
            il.Emit(OpCodes.Ldloc, count);
            il.Emit(OpCodes.Ret);
        });

        Compact = Compile<CompactOperation>("Compact", typeof(void), [typeof(object), typeof(long)], il =>
        {
            il.Emit(OpCodes.Ldarg_0);
            il.Emit(OpCodes.Castclass, _indexType);
            il.Emit(OpCodes.Ldarg_1);
            il.Emit(OpCodes.Callvirt, Method(_indexType, "Compact"));
            il.Emit(OpCodes.Ret);
        });

        Count = Compile<CountOperation>("Count", typeof(int), [typeof(object)], il =>
        {
            il.Emit(OpCodes.Ldarg_0);
            il.Emit(OpCodes.Castclass, _indexType);
            il.Emit(OpCodes.Callvirt, Method(_indexType, "get_Count"));
            il.Emit(OpCodes.Ret);
        });
    }

    /// <summary>Records a put of <c>key</c> at main revision <c>main</c> (sub 0): a new key gets a new entry (a copy of
    /// the key), an existing one a new revision with version + 1 in its generation. The MVCC store's index update of a put.</summary>
    public delegate void PutOperation(object index, ReadOnlySpan<byte> key, long main);

    /// <summary>True when <c>key</c> exists at <c>atRevision</c>: a lookup plus the visible-revision search of a read.</summary>
    public delegate bool GetOperation(object index, ReadOnlySpan<byte> key, long atRevision);

    /// <summary>Number of keys in [<c>key</c>, <c>end</c>) (end null = no upper bound) visible at <c>atRevision</c>:
    /// the index walk of a range read.</summary>
    public delegate int RangeOperation(object index, byte[] key, byte[]? end, long atRevision);

    /// <summary>Compacts every key at <c>atRevision</c> (KeyIndex.Compact, O(number of keys)).</summary>
    public delegate void CompactOperation(object index, long atRevision);

    /// <summary>Number of keys held by the index.</summary>
    public delegate int CountOperation(object index);

    /// <summary>See <see cref="PutOperation"/>.</summary>
    public PutOperation Put { get; }

    /// <summary>See <see cref="GetOperation"/>.</summary>
    public GetOperation Get { get; }

    /// <summary>See <see cref="RangeOperation"/>.</summary>
    public RangeOperation CountVisible { get; }

    /// <summary>See <see cref="CompactOperation"/>.</summary>
    public CompactOperation Compact { get; }

    /// <summary>See <see cref="CountOperation"/>.</summary>
    public CountOperation Count { get; }

    /// <summary>A new, empty key index.</summary>
    public object NewIndex() => Activator.CreateInstance(_indexType, nonPublic: true)!;

    private T Compile<T>(string name, Type returnType, Type[] parameters, Action<ILGenerator> emit) where T : Delegate
    {
        var method = new DynamicMethod("KeyIndex." + name, returnType, parameters, _indexType.Module, skipVisibility: true);
        emit(method.GetILGenerator());
        return method.CreateDelegate<T>();
    }

    private static MethodInfo Method(Type type, string name) =>
        type.GetMethod(name, BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Instance)
        ?? throw new MissingMemberException(type.FullName, name);
}
