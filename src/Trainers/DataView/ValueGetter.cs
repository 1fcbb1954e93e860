namespace MLNetNormalization.Data;

/// <summary>
/// Reads the current row's value of one column into <paramref name="value"/>. Vector getters reuse the array
/// passed in when its length fits, so a caller that keeps values across rows must pass a fresh variable.
/// </summary>
public delegate void ValueGetter<TValue>(ref TValue value);
