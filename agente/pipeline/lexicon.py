"""Concept lexicon: words and phrases of es/en/pt grouped by what they signal.

The classifier sees ``k:<CONCEPT>`` features besides the raw words, so a word it never saw in
training (another language, a synonym, a one-letter typo) still carries its meaning. Entries
are normalised text (lower case, no accents). Single words match exactly, or within one edit
when six letters or longer; ``*`` marks a stem (prefix match); phrases match on consecutive
tokens.
"""

from __future__ import annotations

__all__ = ["CONCEPTS"]

# fmt: off
CONCEPTS: dict[str, list[str]] = {
    "GREET": [
        "hola", "holis", "holi", "buenas", "buen dia", "buenos dias", "buenas tardes", "buenas noches",
        "hi", "hello", "hey", "hiya", "good morning", "good afternoon", "good evening", "ola", "oi",
        "bom dia", "boa tarde", "boa noite", "que tal", "como va", "como estas", "tudo bem",
    ],
    "THANKS": [
        "gracias", "muchas gracias", "mil gracias", "thanks", "thank", "thank you", "cheers",
        "obrigado", "obrigada", "valeu", "agradezco", "agradecido", "agradecida", "grato", "grata",
        "genial", "barbaro", "excelente", "perfecto", "great", "awesome", "appreciate",
    ],
    "BYE": [
        "have a good one", "have a nice day", "buen dia para vos", "bom dia pra voce",
        "chau", "chao", "adios", "bye", "goodbye", "tchau", "ate logo", "ate mais", "nos vemos",
        "hasta luego", "hasta pronto", "see you", "take care", "saludos", "abrazo", "eso es todo",
        "eso era todo", "era todo", "nada mas", "that's all", "thats all", "so isso", "e isso",
    ],
    "YES": [
        "si", "sep", "dale", "ok", "bueno", "de una", "claro", "correcto", "exacto", "obvio", "listo",
        "joya", "perfecto", "yes", "yeah", "yep", "yup", "sure", "of course", "correct", "right",
        "sim", "isso", "isso mesmo", "pode ser", "pode", "beleza", "blz", "fechado", "certo",
        "afirmativo", "esa", "esa misma", "me sirve", "me parece bien", "sounds good",
        "that works", "go ahead", "confirmo", "confirmado",
    ],
    "NO": [
        "not correct", "incorrect", "incorrecto", "nada que ver", "nops", "naa", "deja", "dejalo",
        "no", "nah", "nope", "nao", "mejor no", "tampoco", "negativo", "no gracias", "no thanks",
        "not really", "de ninguna manera", "para nada", "nem", "agora nao", "todavia no", "aun no",
        "not now", "no por ahora", "por ahora no", "no hace falta", "no es necesario",
    ],
    "AVAIL": [
        "lugar", "disponibilidad", "disponible", "disponibles", "libre", "libres", "available",
        "availability", "vacancy", "vacancies", "free", "vaga", "vagas", "disponivel",
        "disponibilidade", "tienen", "tenes", "tendrian", "tendras", "hay", "habra", "queda",
        "quedan", "any", "anything", "got", "have", "tem", "teria", "tenham", "room", "rooms",
        "habitacion", "habitaciones", "cuarto", "cuartos", "quarto", "quartos", "noche", "noches",
        "night", "nights", "noite", "noites", "somos", "para dos", "para 2", "estadia", "stay",
        "hospedaje", "alojamiento", "hospedagem", "pernoctar",
    ],
    "BOOK": [
        "reservar", "reservame", "reservamela", "reservala", "reservalo", "reservenme", "reserven",
        "book", "booking", "reserve", "reservo", "me la quedo", "me lo quedo", "la tomo", "la quiero",
        "agendar", "fechar", "garantir", "quero reservar", "quiero reservar", "hacer una reserva",
        "make a reservation", "quisiera reservar", "fazer uma reserva", "reserva", "hold",
        "confirmar la reserva", "lock it", "go with", "nos quedamos con", "vamos con", "ficamos com",
    ],
    "MODIFY": [
        "acortar", "sacar", "quitar", "reducir", "shorten", "remove", "encurtar", "tirar",
        "cambiar", "cambio", "modificar", "mover", "pasar", "correr", "agregar", "sumar", "extender",
        "change", "modify", "move", "extend", "add", "alterar", "mudar", "trocar", "adiar",
        "postergar", "adelantar", "reprogramar", "reschedule", "shift", "switch", "acrescentar",
        "una noche mas", "one more night", "mais uma noite", "en vez de", "instead of", "em vez de",
    ],
    "CANCEL": [
        "cancel*", "anular", "anulo", "desistir", "dar de baja la reserva", "no vamos a ir",
        "no voy a poder ir", "can't make it", "cant make it", "nao vou conseguir", "nao vamos",
        "nao poderei", "no podremos", "no podemos ir",
    ],
    "REFUND": [
        "reembolso", "reembolsar", "refund", "devolucion", "devuelven", "devolver", "devolvieron",
        "reintegro", "estorno", "devolucao", "money back",
    ],
    "STATUS": [
        "confirmada", "confirmado", "confirmacion", "voucher", "estado", "status", "reenviar",
        "reenvia", "resend", "confirmation", "confirmacao", "chegou", "llego", "recibi", "received",
        "didn't get", "didnt get", "no me llego", "nao recebi", "nao chegou", "mi reserva",
        "my booking", "my reservation", "minha reserva", "esta confirmada", "is it confirmed",
        "que reserve", "what did i book", "detalle", "detalles", "details",
    ],
    "PRICE": [
        "precio", "precios", "cuanto", "sale", "cuesta", "costo", "costaria", "tarifa", "tarifas",
        "valor", "valores", "price", "prices", "cost", "costs", "how much", "rate", "rates",
        "quanto", "custa", "diaria", "diarias", "preco", "precos", "cobran", "cobra", "presupuesto",
        "cotizacion", "orcamento", "quote", "pricing", "per night", "por noche", "por noite",
    ],
    "ROOMTYPES": [
        "adaptado", "cadeirante", "accesible", "accessible", "acessivel", "entran", "fit", "cabem", "caben",
        "tipos", "tipo", "matrimonial", "camas", "cama", "twin", "doble", "single", "suite",
        "triple", "familiar", "vista", "room types", "beds", "bed", "view", "casal", "solteiro",
        "capacidad", "capacity", "capacidade", "king", "queen", "que habitaciones", "which rooms",
        "what rooms", "quais quartos", "balcon", "balcony", "varanda", "jacuzzi", "hidromasaje",
    ],
    "AMENITY": [
        "pile", "toallas", "secador", "heladera", "toalhas", "towels", "hairdryer", "cuna", "berco", "crib", "ac", "a/c",
        "desayuno", "wifi", "wi-fi", "internet", "pileta", "piscina", "cochera", "estacionamiento",
        "gimnasio", "spa", "sauna", "restaurante", "restaurant", "lavanderia", "aire",
        "acondicionado", "breakfast", "pool", "parking", "gym", "laundry", "academia",
        "cafe da manha", "cafe", "estacionamento", "garagem", "traslado", "transfer", "shuttle",
        "calefaccion", "heating", "ar-condicionado", "ar condicionado", "servicios", "services",
        "amenities", "comodidades", "incluye", "include", "includes", "inclui", "tv", "frigobar",
        "alberca", "parqueadero", "parqueo", "washing machine",
    ],
    "LOCATION": [
        "dire", "ubicacion", "encuentro", "encontrar", "find you", "queda", "ficam", "fica", "cartel", "sign",
        "ubicacion", "ubicados", "direccion", "donde", "mapa", "como llego", "como llegar", "terminal",
        "address", "location", "located", "where", "directions", "get there", "endereco", "onde",
        "localizacao", "localizacion", "aeropuerto", "airport", "aeroporto", "rodoviaria",
        "colectivo", "micro", "bus", "taxi", "remis", "centro", "downtown", "lejos", "far", "cerca",
        "near", "perto", "longe", "como chego", "how do i get",
    ],
    "POLICY": [
        "vapear", "vapeo", "vape", "humo", "libre de humo", "non-smoking", "visitas", "visitors", "visitantes", "adicional", "cama adicional", "acompanhante",
        "mascota", "mascotas", "perro", "perrito", "gato", "fumar", "fumo", "pets", "pet", "dog",
        "cat", "smoking", "smoke", "politica", "politicas", "policy", "policies", "animais",
        "animal", "cachorro", "penalidad", "multa", "penalty", "fee", "documento", "documentos",
        "dni", "pasaporte", "passport", "cama extra", "extra bed", "supletoria", "menores",
        "ninos", "nenes", "chicos", "criancas", "kids", "children", "se aceptan", "se permite",
        "permitido", "permiten", "allowed", "allow", "pueden llevar", "puedo llevar", "can i bring",
        "posso levar", "aceitam", "aceptan", "pagar si cancelo", "cargo", "anticipacion",
    ],
    "PAYINFO": [
        "parcelar", "parcelas", "boleto", "installments", "dados", "datos", "transferencia bancaria",
        "pagar", "pago", "pagos", "efectivo", "tarjeta", "tarjetas", "transferencia", "cbu", "alias",
        "cuotas", "factura", "sena", "deposit", "pay", "payment", "cash", "card", "cards",
        "invoice", "pix", "cartao", "dinheiro", "sinal", "deposito", "credito", "debito",
        "mercadopago", "mercado pago", "datos bancarios", "bank details", "dados bancarios",
        "cuenta", "account", "conta", "dolares", "dollars", "dolar", "pesos", "reais", "moneda",
        "currency", "moeda", "como pago", "how do i pay", "como pago", "cuanto es la sena",
    ],
    "PROOF": [
        "transferi", "pague", "comprobante", "mande", "envie", "deposite", "abone", "paid",
        "transferred", "sent", "receipt", "proof", "paguei", "comprovante", "enviei", "mandei",
        "te mando", "ahi va", "adjunto", "attached", "segue", "ya esta", "ya te", "ya pague",
        "ya transferi", "acabo de", "just paid", "just sent", "ja paguei", "ja transferi", "hice",
        "realice", "fiz",
    ],
    "CHECKIN": [
        "entregan", "entregam", "horario de entrada",
        "check in", "check-in", "checkin", "ingreso", "ingresar", "entrada", "entrar", "temprano",
        "early", "arrive", "arrival", "chegada", "chegar", "llegar", "llegamos", "llegada",
        "a que hora", "what time", "que horas", "a partir de",
    ],
    "CHECKOUT": [
        "check out", "check-out", "checkout", "salida", "salir", "dejar la habitacion", "saida",
        "sair", "leave", "desocupar", "entregar", "hasta que hora", "until what time", "ate que horas",
    ],
    "LATE": [
        "tarde", "late", "mas tarde", "quedarme hasta", "quedarnos hasta", "later", "late checkout",
        "late check-out", "mais tarde", "extender la salida", "hasta las", "until", "ate as",
    ],
    "HOURS": [
        "24/7", "24hs", "24 horas", "24 hours", "ligar", "llamar", "telefono de",
        "horario", "horarios", "abren", "atienden", "atencion", "open", "opening", "hours",
        "atendimento", "funcionamento", "recepcion", "reception", "recepcao", "cierran", "close",
        "fecham", "abrem", "business hours", "oficina", "office",
    ],
    "HUMAN": [
        "alguien real", "real", "am i talking", "estoy hablando", "estou falando",
        "humano", "humana", "persona", "alguien", "operador", "operadora", "asesor", "asesora",
        "hablar", "human", "person", "someone", "somebody", "agent", "representative", "atendente",
        "pessoa", "alguem", "urgente", "urgent", "emergencia", "emergency", "ayuda", "help",
        "socorro", "ajuda", "llamame", "call me", "me ligue", "gerente", "manager", "encargado",
        "real person", "persona real", "pessoa real", "bot", "robot", "maquina",
    ],
    "COMPLAINT": [
        "descontaron", "dos veces", "twice", "duas vezes", "no estaba", "wasn't there", "nao tinha",
        "sucia", "sucio", "sucias", "mal", "horrible", "pesimo", "pesima", "queja", "reclamo",
        "reclamar", "cobraron", "roto", "rota", "no funciona", "no andaba", "no anda", "ruido",
        "ruidoso", "fria", "frio", "dirty", "broken", "noisy", "complaint", "complain", "terrible",
        "awful", "overcharged", "sujo", "suja", "quebrado", "barulho", "reclamacao", "pessimo",
        "decepcion", "decepcionado", "decepcionada", "disappointed", "desastre", "verguenza",
        "mugre", "cucaracha", "cucarachas", "olor", "smell", "smelled", "stain", "manchas", "rude",
        "maleducado", "grosero", "de mas", "a mas", "double charged", "cobrado", "nao funcionava",
        "inaceptable", "unacceptable", "inaceitavel", "lamentable", "molesto", "enojado",
    ],
    "INFORM": [
        "somos", "mi mail", "mi email", "mi correo", "mi nombre", "me llamo", "soy", "email",
        "mail", "correo", "telefono", "celular", "numero", "name", "my name", "my email", "i am",
        "meu nome", "meu email", "chamo", "sou", "adultos", "adults", "adultos e", "nino", "nene",
        "bebe", "baby", "kid", "child", "crianca", "reserva numero", "nro", "numero de reserva",
        "a nombre de", "under the name", "em nome de", "perdon", "perdon somos", "corrijo",
        "me equivoque", "sorry", "actually", "na verdade", "en realidad", "al final",
    ],
    "OPTOUT": [
        "no me manden", "no me escriban", "dejen de", "stop", "unsubscribe", "baja", "darme de baja",
        "no quiero recibir", "parar de", "nao quero receber", "parem de", "nao me mandem",
        "no me contacten", "dont message", "don't message", "stop messaging", "remove me",
        "borrenme", "borren mis datos", "eliminar mis datos", "delete my data", "no molesten",
        "spam", "remover", "descadastrar", "cancelar suscripcion", "opt out",
    ],
    "OUT": [
        "chover", "piada", "homework", "tarea", "plata", "prestas", "prestar", "dolar", "recomendas", "recomendame", "recommend", "parrilla", "cotacao",
        "partido", "clima", "llueve", "lluvia", "chiste", "futbol", "receta", "presidente",
        "weather", "joke", "president", "football", "soccer", "tempo", "chuva", "piada", "jogo",
        "admin", "administrador", "ignora", "ignore", "instrucciones", "instructions", "instrucoes",
        "usuarios", "users", "system prompt", "prompt", "contrasena", "password", "senha",
        "otros huespedes", "other guests", "outros hospedes", "quien gano", "who won", "quem ganhou",
        "bitcoin", "dolar blue", "programar", "python", "tarea", "homework", "poema", "poem",
        "asdf", "asdfgh", "qwerty", "jaja", "jajaja", "haha", "kkk", "kkkk",
    ],
}
# fmt: on
