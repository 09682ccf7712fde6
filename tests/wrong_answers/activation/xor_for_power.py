"""^ for a power, as the notes wrote it: XOR in Python.

diagnosis: erratum 7
"""



def activation_backward(d_state, middle):
    return d_state * (2 * middle + 1) / ((middle ^ 2 + middle + 1) ^ 2)
