"""d_ih = W_ih * delta[:, None]: the weights where the input u is due."""



def ih_backward(ih, embedded, delta):
    return ih * delta[:, None], ih.T @ delta
